// Package tagging is the aligned many-to-many task: one tag per token, as in slot
// filling and chunking.
package tagging
