//go:build !unix

package pipeline

import (
	"fmt"
	"os"
)

// mapFile reads the whole file where memory mapping is not available.
func mapFile(path string) ([]byte, func() error, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("pipeline: %w", err)
	}
	if len(data) == 0 {
		return nil, nil, &Error{Path: path, Err: fmt.Errorf("empty file")}
	}
	return data, func() error { return nil }, nil
}
