package pipeline_test

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
)

// TestVectorColumn reads a vector column from JSON Lines (numbers or a string)
// and CSV (a cell of comma- or space-separated numbers), encodes it into the
// cache and batches it as [B, dim]; rows of another length or with a word in
// place of a number are refused with the row named.
func TestVectorColumn(t *testing.T) {
	dir := t.TempDir()
	jsonl := filepath.Join(dir, "v.jsonl")
	writeFile(t, jsonl, `{"text": "a b", "v": [1, 2.5, -3]}
{"text": "c", "v": "4 5e-1 6"}
`)
	csv := filepath.Join(dir, "v.csv")
	writeFile(t, csv, "text,v\n\"a b\",\"1, 2.5, -3\"\nc,4 5e-1 6\n")
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	want := []float32{1, 2.5, -3, 4, 0.5, 6}
	for _, path := range []string{jsonl, csv} {
		src := pipeline.Source{Path: path, Columns: pipeline.Columns{Text: "text", Vector: "v"}}
		v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{})
		if err != nil {
			t.Fatal(err)
		}
		if v.Vector != 3 {
			t.Fatalf("%s: vector length %d, want 3", path, v.Vector)
		}
		d, _, err := pipeline.Cache{Dir: dir}.Prepare(src, &pipeline.Encoder{Tokenizer: tok, Vocabs: v}, 1)
		if err != nil {
			t.Fatal(err)
		}
		b, err := pipeline.NewBatcher(d, pipeline.BatchConfig{Size: 2})
		if err != nil {
			t.Fatal(err)
		}
		for bt := range b.Epoch(0) {
			if bt.VectorDim != 3 || !slices.Equal(bt.Vector, want) {
				t.Errorf("%s: batch vectors %v (dim %d), want %v", path, bt.Vector, bt.VectorDim, want)
			}
		}
		d.Close()
	}
	for name, body := range map[string]string{
		"short.jsonl": `{"text": "a", "v": [1, 2, 3]}` + "\n" + `{"text": "b", "v": [1, 2]}` + "\n",
		"word.jsonl":  `{"text": "a", "v": [1, 2, 3]}` + "\n" + `{"text": "b", "v": "1 two 3"}` + "\n",
		"nan.jsonl":   `{"text": "a", "v": [1, 2, 3]}` + "\n" + `{"text": "b", "v": "1 NaN 3"}` + "\n",
	} {
		path := filepath.Join(dir, name)
		writeFile(t, path, body)
		src := pipeline.Source{Path: path, Columns: pipeline.Columns{Text: "text", Vector: "v"}}
		v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{})
		if err != nil {
			t.Fatal(err)
		}
		_, _, err = pipeline.Cache{Dir: dir}.Prepare(src, &pipeline.Encoder{Tokenizer: tok, Vocabs: v}, 1)
		if err == nil || !strings.Contains(err.Error(), name+":2: ") {
			t.Errorf("%s: error %v, want one naming the file and line 2", name, err)
		}
	}
}
