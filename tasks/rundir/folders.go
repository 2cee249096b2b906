package rundir

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteDir fills a fresh folder with write and then publishes it as dst.
func WriteDir(dst string, write func(tmp string) error) error {
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return err
	}
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	if err := write(tmp); err != nil {
		return err
	}
	return PublishDir(tmp, dst)
}

// PublishDir replaces dst by the completed folder tmp. A crash leaves either the
// old dst, or dst.old with tmp complete, which RecoverDir repairs.
func PublishDir(tmp, dst string) error {
	old := dst + ".old"
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(dst, old); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return err
	}
	if d, err := os.Open(filepath.Dir(dst)); err == nil {
		d.Sync()
		d.Close()
	}
	return os.RemoveAll(old)
}

// RecoverDir puts back dst after a crash between publishDir's two renames;
// fs.ErrNotExist when there is no dst to put back.
func RecoverDir(dst string) error {
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	if _, err := os.Stat(dst + ".old"); err == nil {
		return os.Rename(dst+".old", dst)
	}
	return fmt.Errorf("resume: no checkpoint in %s: %w", dst, fs.ErrNotExist)
}

func ReadDevMetrics(path string, step int) (Metrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out Metrics
	err = ReadMetrics(f, func(l MetricsLine) {
		if l.Split == "dev" && l.Step == step {
			out = l.Metrics
		}
	})
	return out, err
}
