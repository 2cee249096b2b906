package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// lockFile is held (flock) by the process that uses a run directory.
const lockFile = ".lock"

// lockRunDir takes the run directory for this process: a second seqkit
// training, resuming or evaluating into the same folder would interleave its
// checkpoints and metrics with the first one's. The lock goes with the process,
// so a killed run leaves none behind.
func lockRunDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockExclusive(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w %s is in use by another seqkit process; wait for it, or choose another -o", ErrRunDir, dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

var errLocked = errors.New("locked")

// runFile reports a name that seqkit writes at the top of a run directory, the
// only ones --force deletes.
func runFile(name string) bool {
	switch name {
	case RecipeFile, MetricsFile, ReportFile, PredictionsFile, SamplesFile, ResultsFile,
		"checkpoints", "vocab", DataDir, CacheDir, LossPlot, DevPlot:
		return true
	}
	// The figures the built-in tasks draw (Figures): a plugin's own figures
	// are not deleted, and --force names them.
	for _, pattern := range []string{RejectsFile("*"), "confusion.png", "attention-*.png"} {
		if ok, _ := filepath.Match(pattern, name); ok {
			return true
		}
	}
	return false
}

// isTemp reports a file or folder that seqkit writes before renaming it into
// place (WriteFileAtomic's .NAME.tmpRANDOM, checkpoints/last.tmp, …).
func isTemp(name string) bool { return strings.Contains(name, ".tmp") }

// RemoveTemps deletes what a killed run was writing in its run directory: none
// of it was complete, and none of it is ever read.
func RemoveTemps(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && isTemp(d.Name()) {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
}
