//go:build race

package pipeline_test

// raceEnabled: the race detector is on (its shadow memory and slowdown distort
// heap and throughput measurements).
const raceEnabled = true
