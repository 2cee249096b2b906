// Package tasktest runs a recipe end to end for the tests of the task packages:
// on a slice of a shared dataset, with a private cache.
package tasktest

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// DataRoot is the shared datasets folder as seen from a package two levels down.
const DataRoot = "../../../shared/datasets"

// NeedData skips the test when a dataset of the shared folder is absent (a fresh
// clone); in CI it is present.
func NeedData(t testing.TB, name string) string {
	p := filepath.Join(DataRoot, name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("dataset %s not found at %s (it ships beside this repository, not in it)", name, p)
	}
	abs, _ := filepath.Abs(p)
	return abs
}

// Slice writes every k-th line of src (from line first, 0-based) to a new file
// in dir and returns its path, so a test trains on a small spread-out sample.
func Slice(t testing.TB, src, dir, name string, k, first int) string {
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	p := filepath.Join(dir, name)
	out, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(out)
	sc := bufio.NewScanner(in)
	for i := 0; sc.Scan(); i++ {
		if i >= first && (i-first)%k == 0 {
			w.WriteString(sc.Text() + "\n")
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Run loads a recipe with overrides and runs it in a temporary run directory.
func Run(t testing.TB, reg *tasks.Registry, recipe string, sets ...string) *tasks.RunResult {
	r, err := recipes.Load(recipe, recipes.Options{Tasks: reg, Sets: sets, DataRoot: DataRoot})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tasks.Run(context.Background(), r, tasks.RunOptions{
		Dir: filepath.Join(t.TempDir(), "run"), Registry: reg, Prepare: tasks.PrepareOptions{CacheDir: t.TempDir()},
	})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TreeSums hashes every file under dir by its path relative to dir: what tests
// compare to say two runs wrote the same bytes.
func TreeSums(t *testing.T, dir string) map[string]string {
	t.Helper()
	sums := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		s := sha256.Sum256(b)
		sums[rel] = hex.EncodeToString(s[:])
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return sums
}
