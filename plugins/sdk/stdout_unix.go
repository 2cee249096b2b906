//go:build unix

package sdk

import (
	"os"

	"golang.org/x/sys/unix"
)

// guardStdout moves the real standard output to a new descriptor and points
// descriptor 1 at standard error, so that any write to standard output, even
// one that bypasses os.Stdout, stays off the handshake channel.
func guardStdout() *os.File {
	if !launched() {
		return nil
	}
	fd, err := unix.Dup(1)
	if err != nil {
		return nil
	}
	if err := unix.Dup2(2, 1); err != nil {
		unix.Close(fd)
		return nil
	}
	unix.CloseOnExec(fd)
	os.Stdout = os.Stderr
	return os.NewFile(uintptr(fd), "/dev/stdout")
}
