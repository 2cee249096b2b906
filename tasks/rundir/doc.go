// Package rundir is the run directory a training run writes and seqkit
// predict, eval and generate read: its layout, the lock that keeps it to one
// process, checkpoint folders published whole, vocabularies and the hashes
// that tie checkpoints to them, metrics.jsonl, the report, learning curves
// and heat maps, prediction writers, and the checks that a model folder from
// elsewhere reads nothing outside itself.
package rundir
