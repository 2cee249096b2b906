//go:build race

package nn_test

// raceOn is whether the race detector is on: it makes sync.Pool drop values
// at random, so allocation counts mean nothing then.
const raceOn = true
