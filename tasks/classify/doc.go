// Package classify is the many-to-one task: one label (or several) per sequence.
package classify
