// Package atomicfile writes files so that a crash or an error leaves the old
// file or the new one whole, never a part that a later run would trust: the
// data goes to a temporary sibling (.NAME.tmpRANDOM), which is fsynced and
// renamed into place, and the folder is fsynced so the rename lasts too.
// Temporary names contain ".tmp", which a run directory's clean-up removes.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// File is a file being written in place of path.
type File struct {
	*os.File
	path string
	done bool
}

// Create starts writing path. The file gets the permissions a plain
// os.Create would give it (0666 less the umask), or those of the file it
// replaces: os.CreateTemp's 0600 would hide predictions and exported models
// from the other users a shared folder is meant for.
func Create(path string) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, err
	}
	perm := 0o666 &^ umask()
	if st, err := os.Stat(path); err == nil && st.Mode().IsRegular() {
		perm = st.Mode().Perm()
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{File: f, path: path}, nil
}

// umask is the process's file mode creation mask, read from
// /proc/self/status: syscall.Umask can only read it by setting it, which
// races with other goroutines creating files. Where /proc has no such line
// it is the usual 022.
func umask() os.FileMode {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0o022
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "Umask:"); ok {
			if m, err := strconv.ParseUint(strings.TrimSpace(v), 8, 32); err == nil {
				return os.FileMode(m) & os.ModePerm
			}
		}
	}
	return 0o022
}

// Commit makes what was written the file at path: sync, close, rename and a
// sync of the folder. On an error the temporary file is removed.
func (f *File) Commit() error {
	if f.done {
		return fmt.Errorf("atomicfile: %s: committed or aborted already", f.path)
	}
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	if d, err := os.Open(filepath.Dir(f.path)); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Abort drops what was written: it closes and removes the temporary file.
// After Commit it does nothing, so it can be deferred.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.Close()
	os.Remove(f.Name())
}

// Write writes path with write, atomically.
func Write(path string, write func(io.Writer) error) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}

// WriteFile writes data to path, atomically.
func WriteFile(path string, data []byte) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
}
