package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/tasks/tasktest"
)

// TestPreparedDataset checks seqkit data prepare -o: the folder it writes
// (vocabularies, shards, data section, manifest), the same bytes when run
// again, training from it with the bits of training from the sources, and
// the refusals of a half-written or altered dataset.
func TestPreparedDataset(t *testing.T) {
	dir := t.TempDir()
	res := seqkit(t, dir, "data", "prepare", "taipei", "-o", "prep")
	if res.code != 0 || !strings.Contains(res.stdout, "train     600 rows") {
		t.Fatalf("prepare: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	prep := filepath.Join(dir, "prep")
	first := tasktest.TreeSums(t, prep)
	for _, f := range []string{"manifest.json", "data.yaml", "vocab/input.txt", "vocab/tags.txt", "train/part-00000.arrow", "dev/part-00000.arrow", "test/part-00000.arrow"} {
		if first[f] == "" {
			t.Errorf("prepared dataset lacks %s (has %v)", f, first)
		}
	}
	if res := seqkit(t, dir, "data", "prepare", "taipei", "-o", "prep"); res.code != 0 {
		t.Fatalf("prepare again: %s", res.stderr)
	}
	again := tasktest.TreeSums(t, prep)
	for f, s := range first {
		if again[f] != s {
			t.Errorf("%s differs when prepared again", f)
		}
	}
	if len(again) != len(first) {
		t.Errorf("prepared again: %d files, first %d", len(again), len(first))
	}

	// Training from the folder gives the bits of training from the sources.
	os.WriteFile(filepath.Join(dir, "fromprep.yaml"), []byte("extends: taipei\ndata:\n  prepared: prep\n"), 0o644)
	for _, r := range [][]string{{"train", "taipei", "-o", "raw"}, {"train", "fromprep.yaml", "-o", "prepared"}} {
		if res := seqkit(t, dir, append(r, "--set", "train.epochs=1")...); res.code != 0 {
			t.Fatalf("%v: exit %d\n%s", r, res.code, res.stderr)
		}
	}
	raw, fromPrep := tasktest.TreeSums(t, filepath.Join(dir, "raw")), tasktest.TreeSums(t, filepath.Join(dir, "prepared"))
	for _, f := range []string{"checkpoints/best/model.safetensors", "vocab/input.txt", "vocab/tags.txt"} {
		if raw[f] == "" || raw[f] != fromPrep[f] {
			t.Errorf("%s: trained from the prepared dataset differs from trained from the sources", f)
		}
	}
	if res := seqkit(t, dir, "eval", "-m", "prepared"); res.code != 0 || !strings.Contains(res.stdout, "f1") {
		t.Errorf("eval of a run trained from a prepared dataset: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}

	// A whole run from the folder writes test predictions from the sources;
	// without them (a dataset moved to another machine) it still trains and
	// evaluates, and leaves the predictions out.
	if res := seqkit(t, dir, "run", "fromprep.yaml", "-o", "full", "--set", "train.epochs=1"); res.code != 0 {
		t.Fatalf("run from a prepared dataset: %s", res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "full", "predictions.test.jsonl")); err != nil {
		t.Error(err)
	}
	os.Rename(filepath.Join(prep, "data"), filepath.Join(dir, "elsewhere"))
	res = seqkit(t, dir, "run", "fromprep.yaml", "-o", "moved", "--set", "train.epochs=1")
	if res.code != 0 || !strings.Contains(res.stdout, "f1") {
		t.Fatalf("run from a prepared dataset without its sources: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "moved", "predictions.test.jsonl")); err == nil {
		t.Error("predictions written without the test sources")
	}

	// Keys that the dataset fixes may not be set beside it.
	os.WriteFile(filepath.Join(dir, "clash.yaml"), []byte("extends: taipei\ndata:\n  prepared: prep\n  tokenizer: {lower: false}\n"), 0o644)
	if res := seqkit(t, dir, "train", "clash.yaml", "-o", "clash"); res.code == 0 || !strings.Contains(res.stderr, "data.tokenizer") || !strings.Contains(res.stderr, "comes from data.prepared") {
		t.Errorf("tokenizer beside data.prepared: exit %d %s", res.code, res.stderr)
	}
	// An altered shard is refused by its seal.
	shard := filepath.Join(prep, "train", "part-00000.arrow")
	b, _ := os.ReadFile(shard)
	os.WriteFile(shard, append(b, 0), 0o644)
	if res := seqkit(t, dir, "train", "fromprep.yaml", "-o", "altered"); res.code == 0 || !strings.Contains(res.stderr, shard) {
		t.Errorf("altered shard: exit %d %s", res.code, res.stderr)
	}
	// Without its manifest (a preparation that did not finish) the folder is
	// not a dataset.
	os.Remove(filepath.Join(prep, "manifest.json"))
	if res := seqkit(t, dir, "train", "fromprep.yaml", "-o", "half"); res.code == 0 || !strings.Contains(res.stderr, "has no manifest.json") {
		t.Errorf("no manifest: exit %d %s", res.code, res.stderr)
	}
}

// TestSkipErrorsFirstRows checks data.skip_errors with a bad example among
// the first rows of the training split: the recipe's check and the
// vocabulary count pass over it (they used to stop at it), and preparing
// writes it to the rejects file once, counted in the manifest.
func TestSkipErrorsFirstRows(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "train.jsonl"), []byte("{\"text\": \"a b\", \"label\": \"x\"}\nnot json\n{\"text\": \"b c\", \"label\": \"y\"}\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("name: se\ndata:\n  train: {path: train.jsonl, columns: {text: text, label: label}}\n  skip_errors: true\ntask: {type: classify}\ntrain: {epochs: 1}\n"), 0o644)
	if res := seqkit(t, dir, "data", "prepare", "r.yaml", "-o", "p"); res.code != 0 || !strings.Contains(res.stdout, "train       2 rows") {
		t.Fatalf("prepare: exit %d\n%s%s", res.code, res.stdout, res.stderr)
	}
	rej, _ := os.ReadFile(filepath.Join(dir, "p", "rejects.train.txt"))
	man, _ := os.ReadFile(filepath.Join(dir, "p", "manifest.json"))
	if strings.Count(string(rej), "\n") != 1 || !strings.Contains(string(rej), "train.jsonl:2:2\tinvalid JSON") || !strings.Contains(string(man), `"skipped": 1`) {
		t.Errorf("rejects %q, manifest %s", rej, man)
	}
	if res := seqkit(t, dir, "train", "r.yaml", "-o", "run"); res.code != 0 {
		t.Errorf("train: exit %d %s", res.code, res.stderr)
	}
}

// TestPreparedTargetTokenizer trains from a prepared dataset whose recipe has
// a target tokenizer of its own (a pointer in the configuration: compared by
// value, not by address).
func TestPreparedTargetTokenizer(t *testing.T) {
	dir := t.TempDir()
	sets := []string{"--set", "data.generate={name: reverse, train: 300, dev: 30, test: 30, seed: 3}", "--set", "data.tokenizer.target={kind: whitespace}"}
	if res := seqkit(t, dir, append([]string{"data", "prepare", "reverse", "-o", "prep"}, sets...)...); res.code != 0 {
		t.Fatalf("prepare: %s", res.stderr)
	}
	os.WriteFile(filepath.Join(dir, "r.yaml"), []byte("extends: reverse\ndata:\n  prepared: prep\n"), 0o644)
	if res := seqkit(t, dir, "train", "r.yaml", "-o", "run", "--set", "train.epochs=1"); res.code != 0 {
		t.Fatalf("train from a prepared dataset with a target tokenizer: exit %d %s", res.code, res.stderr)
	}
}
