package pipeline_test

import (
	"path/filepath"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
)

func TestSummarize(t *testing.T) {
	dir := t.TempDir()
	train := filepath.Join(dir, "train.jsonl")
	writeFile(t, train, `{"t": "a b c", "g": "O O B", "l": "x"}`+"\n"+`{"t": "a", "g": "O", "l": "x"}`+"\n"+`{"t": "a b", "g": "O B", "l": "y"}`+"\n")
	dev := filepath.Join(dir, "dev.jsonl")
	writeFile(t, dev, `{"t": "a z z z", "g": "O O I O", "l": "w"}`+"\n")
	cols := pipeline.Columns{Text: "t", Tags: "g", Label: "l"}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, _ := pipeline.VocabsOf(pipeline.Source{Path: train, Columns: cols}, tok, pipeline.VocabConfig{})
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v}
	cache := pipeline.Cache{Dir: dir}
	d, _, err := cache.Prepare(pipeline.Source{Path: train, Columns: cols}, enc, 1)
	if err != nil {
		t.Fatal(err)
	}
	s := pipeline.Summarize(d, v)
	d.Close()
	if s.Rows != 3 || s.Tokens != 6 || s.MinLen != 1 || s.P50 != 2 || s.MaxLen != 3 || s.MeanLen != 2 || s.OOVRate != 0 ||
		s.Labels["x"] != 2 || s.Labels["y"] != 1 || s.Tags["O"] != 4 || s.Tags["B"] != 2 {
		t.Fatalf("train summary %+v", s)
	}
	d, _, err = cache.Prepare(pipeline.Source{Path: dev, Columns: cols}, enc, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	s = pipeline.Summarize(d, v)
	if s.OOVRate != 0.75 || s.Labels["?"] != 1 || s.Tags["?"] != 1 || s.Tags["O"] != 3 {
		t.Fatalf("dev summary %+v", s)
	}
}
