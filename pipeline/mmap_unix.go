//go:build unix

package pipeline

import (
	"fmt"
	"os"
	"syscall"
)

// mapFile maps a whole file read-only into memory. The pages are read on first
// touch, so opening a large dataset costs no I/O up front.
func mapFile(path string) ([]byte, func() error, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: %w", err)
	}
	if st.Size() == 0 {
		return nil, nil, &Error{Path: path, Err: fmt.Errorf("empty file")}
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(st.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: mmap %s: %w", path, err)
	}
	return data, func() error { return syscall.Munmap(data) }, nil
}
