package prepared_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks/prepared"
)

// write prepares a two-shard JSON Lines split in dir and commits it.
func write(t *testing.T, dir string) (*prepared.Manifest, pipeline.Source, *pipeline.Encoder) {
	t.Helper()
	in := t.TempDir()
	os.WriteFile(filepath.Join(in, "a.jsonl"), []byte(`{"text": "a b", "label": "x"}`+"\n"+`{"text": "b c", "label": "y"}`+"\n"), 0o644)
	os.WriteFile(filepath.Join(in, "b.jsonl"), []byte(`{"text": "c d e", "label": "x"}`+"\n"), 0o644)
	src := pipeline.Source{Path: in, Columns: pipeline.Columns{Text: "text", Label: "label"}}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{})
	if err != nil {
		t.Fatal(err)
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v}
	if err := prepared.Begin(dir); err != nil {
		t.Fatal(err)
	}
	inputs, err := src.Inputs()
	if err != nil {
		t.Fatal(err)
	}
	sp, err := prepared.NewSplit(src, enc, len(inputs))
	if err != nil {
		t.Fatal(err)
	}
	for i, input := range inputs {
		sh, st, skipped, err := prepared.EncodeShard(dir, "train", src, i, input, enc, 1)
		if err != nil {
			t.Fatal(err)
		}
		sp.Set(i, sh, st, skipped)
	}
	m := &prepared.Manifest{Tokenizer: tok.Config(), Splits: map[string]*prepared.Split{"train": sp}}
	if err := prepared.Commit(dir, m); err != nil {
		t.Fatal(err)
	}
	return m, src, enc
}

func TestWriteOpen(t *testing.T) {
	dir := t.TempDir()
	write(t, dir)
	m, err := prepared.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	sp := m.Splits["train"]
	if sp.Rows != 3 || len(sp.Shards) != 2 || sp.Shards[0].Rows != 2 || sp.Shards[1].Rows != 1 || sp.Stats.Tokens != 7 {
		t.Fatalf("split %+v", sp)
	}
	ds, err := m.Dataset(dir, "train")
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if ds.NumRows() != 3 || ds.Schema().FieldIndices(pipeline.ShardField) == nil {
		t.Fatalf("%d rows, schema %v", ds.NumRows(), ds.Schema())
	}
	if d, err := m.Dataset(dir, "dev"); d != nil || err != nil {
		t.Errorf("absent split: %v %v", d, err)
	}
}

// TestRefusals checks what Open and Begin refuse: a folder whose
// preparation did not finish, a manifest naming files outside the layout or
// of another version, and a folder that holds other files.
func TestRefusals(t *testing.T) {
	dir := t.TempDir()
	write(t, dir)
	manifest := filepath.Join(dir, prepared.ManifestFile)
	good, _ := os.ReadFile(manifest)
	for _, c := range []struct{ edit, want string }{
		{strings.Replace(string(good), "train/part-00000.arrow", "../../etc/passwd", 1), "not a shard file"},
		{strings.Replace(string(good), `"version": 1`, `"version": 9`, 1), "version 9"},
		{strings.Replace(string(good), `"train": {`, `"extra": {`, 1), "not a split"},
		{"{", "unexpected end"},
	} {
		os.WriteFile(manifest, []byte(c.edit), 0o644)
		if _, err := prepared.Open(dir); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("manifest %.40q: %v, want %q", c.edit, err, c.want)
		}
	}
	os.WriteFile(manifest, good, 0o644)
	// A preparation begun again is not a dataset until it commits, and
	// leftovers of a killed one are removed.
	left := filepath.Join(dir, "train", ".part-00001.arrow.tmp123")
	os.WriteFile(left, []byte("half"), 0o644)
	if err := prepared.Begin(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := prepared.Open(dir); err == nil || !strings.Contains(err.Error(), "did not finish") {
		t.Errorf("begun again: %v", err)
	}
	if _, err := os.Stat(left); err == nil {
		t.Errorf("Begin left %s", left)
	}
	other := t.TempDir()
	os.WriteFile(filepath.Join(other, "notes.txt"), nil, 0o644)
	if err := prepared.Begin(other); err == nil || !strings.Contains(err.Error(), "notes.txt") {
		t.Errorf("Begin in a folder of other files: %v", err)
	}
	// A shard file changed after the manifest was written is refused.
	write(t, dir)
	m, _ := prepared.Open(dir)
	os.WriteFile(filepath.Join(dir, "train", "part-00001.arrow"), []byte("ARROW1 short"), 0o644)
	if _, err := m.Dataset(dir, "train"); err == nil {
		t.Error("a changed shard opened")
	}
}
