//go:build !race

package nn_test

const raceOn = false
