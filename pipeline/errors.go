package pipeline

import (
	"errors"
	"fmt"
)

// ErrBadInput is wrapped by every error about the content of a source file.
var ErrBadInput = errors.New("bad input")

// Error is a problem at a position in a source file. Line and Column are 1-based
// and zero when they do not apply; Row is the 1-based row of a Parquet or Arrow
// source.
type Error struct {
	Path   string
	Line   int
	Column int
	Row    int
	Err    error

	fatal bool // reading cannot go on past it, so it is not skipped as a bad example
}

func (e *Error) Error() string { return e.Position() + ": " + e.Err.Error() }

// Position is "path:line:column", "path:line", "path: row N" or the path alone.
func (e *Error) Position() string {
	switch {
	case e.Line > 0 && e.Column > 0:
		return fmt.Sprintf("%s:%d:%d", e.Path, e.Line, e.Column)
	case e.Line > 0:
		return fmt.Sprintf("%s:%d", e.Path, e.Line)
	case e.Row > 0:
		return fmt.Sprintf("%s: row %d", e.Path, e.Row)
	}
	return e.Path
}

// Unwrap lets errors.Is find [ErrBadInput] and the underlying cause.
func (e *Error) Unwrap() []error { return []error{ErrBadInput, e.Err} }

func badf(path string, line, col int, format string, a ...any) *Error {
	return &Error{Path: path, Line: line, Column: col, Err: fmt.Errorf(format, a...)}
}
