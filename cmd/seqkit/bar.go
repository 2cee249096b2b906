package main

import (
	"os"

	"github.com/seqkit/seqkit/internal/progress"
)

// progressBar draws a byte-progress bar on stderr when it is a terminal.
func progressBar(desc string) (report func(done, total int64), finish func()) {
	return progress.Bar(os.Stderr, desc)
}
