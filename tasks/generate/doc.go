// Package generate is the one-to-many task: language models and conditional
// generators sampled from a start symbol.
package generate
