package rundir

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Open takes dir for this process and makes it ready for a new run (it
// must be absent or empty unless force) or checks that it holds a run to
// resume. Nothing in dir is looked at, let alone deleted, before its lock is
// held, so a run still using the folder keeps it, --force or not; unlock
// releases it. fresh reports whether the run starts from scratch: a run killed
// before it wrote its recipe left nothing but temporary files, and resuming it
// starts it again.
func Open(dir string, force, resume bool) (fresh bool, unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return false, nil, fmt.Errorf("%w %s cannot be made: %v; choose a writable folder with -o", ErrRunDir, dir, errors.Unwrap(err))
	}
	held, err := lockRunDir(dir)
	if err != nil {
		return false, nil, err
	}
	defer func() {
		if err != nil {
			held()
		}
	}()
	all, err := os.ReadDir(dir)
	if err != nil {
		return false, nil, err
	}
	var entries []string // what a run left, less the lock and unfinished writes
	for _, e := range all {
		if e.Name() != lockFile && !isTemp(e.Name()) {
			entries = append(entries, e.Name())
		}
	}
	_, statErr := os.Stat(filepath.Join(dir, RecipeFile))
	switch {
	case resume && statErr == nil:
		return false, held, nil
	case resume && len(entries) > 0:
		return false, nil, fmt.Errorf("%w %s holds no run to resume (no %s)", ErrRunDir, dir, RecipeFile)
	case len(entries) > 0 && !force:
		return false, nil, fmt.Errorf("%w %s already exists: choose another -o, or --force to start again, or --resume to continue it", ErrRunDir, dir)
	case len(entries) > 0 && statErr != nil:
		return false, nil, fmt.Errorf("%w %s is not a seqkit run directory; --force only replaces those", ErrRunDir, dir)
	case len(entries) > 0:
		var foreign []string
		for _, name := range entries {
			if !runFile(name) {
				foreign = append(foreign, name)
			}
		}
		if len(foreign) > 0 {
			return false, nil, fmt.Errorf("%w %s holds files seqkit did not write (%s); --force deletes only a run's own files: move them, or choose another -o", ErrRunDir, dir, strings.Join(foreign, ", "))
		}
		for _, name := range entries {
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return false, nil, err
			}
		}
	}
	return true, held, nil
}
