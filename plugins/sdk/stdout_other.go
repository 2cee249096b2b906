//go:build !unix

package sdk

import "os"

// guardStdout only redirects os.Stdout where descriptors cannot be moved.
func guardStdout() *os.File {
	if !launched() {
		return nil
	}
	out := os.Stdout
	os.Stdout = os.Stderr
	return out
}
