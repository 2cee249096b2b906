// Package progress draws progress bars for long reads and encodes on a terminal,
// and stays quiet when the output is a file or a pipe (logs, CI).
package progress

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
	"golang.org/x/term"
)

// Bar returns a report function for byte counts (done of total) that draws a bar
// labelled desc on w, and a finish function that completes the line. When w is not
// a terminal both do nothing.
func Bar(w *os.File, desc string) (report func(done, total int64), finish func()) {
	return newBar(w, term.IsTerminal(int(w.Fd())), desc)
}

func newBar(w io.Writer, tty bool, desc string) (func(done, total int64), func()) {
	if !tty {
		return func(int64, int64) {}, func() {}
	}
	var bar *progressbar.ProgressBar
	report := func(done, total int64) {
		if bar == nil {
			bar = progressbar.NewOptions64(total,
				progressbar.OptionSetWriter(w),
				progressbar.OptionSetDescription(desc),
				progressbar.OptionShowBytes(true),
				progressbar.OptionShowCount(),
				progressbar.OptionSetWidth(30),
				progressbar.OptionSetPredictTime(true),
				progressbar.OptionClearOnFinish(),
			)
		}
		bar.Set64(min(done, total))
	}
	finish := func() {
		if bar != nil {
			bar.Finish()
		}
	}
	return report, finish
}
