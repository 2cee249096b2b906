// Package seq2seq is the unaligned many-to-many task: an encoder, an attentional
// decoder, greedy and beam-search decoding.
package seq2seq
