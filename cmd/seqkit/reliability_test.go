package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// copyDir copies the regular files of src into dst.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(dst, rel), 0o755)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dst, rel), b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestModelDirTrust loads doctored copies of a run directory: a checkpoint or
// vocabulary that is a symbolic link out of the folder, and a recipe that
// extends a file outside it, are refused (exit 2) with the file named; a link
// that stays inside is followed.
func TestModelDirTrust(t *testing.T) {
	run, _ := demo(t)
	tmp := t.TempDir()
	secret := filepath.Join(tmp, "secret.txt")
	os.WriteFile(secret, []byte("do not read\n"), 0o600)
	in := filepath.Join(tmp, "in.txt")
	os.WriteFile(in, []byte("arrive taipei on november 2nd\n"), 0o644)
	cases := []struct {
		name   string
		doctor func(dir string)
		want   string
	}{
		{"checkpoint linked out", func(dir string) {
			p := filepath.Join(dir, "checkpoints/best/model.safetensors")
			os.Remove(p)
			os.Symlink(secret, p)
		}, "checkpoints/best/model.safetensors links to " + secret + ", outside the model folder"},
		{"folder linked out", func(dir string) {
			p := filepath.Join(dir, "vocab")
			os.Rename(p, filepath.Join(tmp, "vocab-elsewhere"))
			os.Symlink(filepath.Join(tmp, "vocab-elsewhere"), p)
		}, "vocab links to " + filepath.Join(tmp, "vocab-elsewhere") + ", outside the model folder"},
		{"recipe extends a file outside", func(dir string) {
			p := filepath.Join(dir, "recipe.yaml")
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append([]byte("extends: ../../secret.yaml\n"), b...), 0o644)
		}, "recipe.yaml:1:1: extends: a run directory's recipe is complete and extends nothing"},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(tmp, "m", string(rune('a'+i)))
			copyDir(t, run, dir)
			c.doctor(dir)
			res := seqkit(t, tmp, "predict", "-m", dir, "--input", in, "--output", filepath.Join(tmp, "out.jsonl"))
			if res.code != 2 || !strings.Contains(res.stderr, c.want) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", res.code, res.stderr, c.want)
			}
		})
	}
	t.Run("link inside the folder", func(t *testing.T) {
		dir := filepath.Join(tmp, "m", "inside")
		copyDir(t, run, dir)
		p := filepath.Join(dir, "checkpoints/best/model.safetensors")
		os.Rename(p, filepath.Join(dir, "weights.safetensors"))
		os.Symlink("../../weights.safetensors", p)
		if res := seqkit(t, tmp, "predict", "-m", dir, "--input", in, "--output", filepath.Join(tmp, "out.jsonl")); res.code != 0 {
			t.Errorf("exit %d: %s", res.code, res.stderr)
		}
	})
}
