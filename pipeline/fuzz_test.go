package pipeline_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/seqkit/seqkit/pipeline"
)

// fuzzRead reads data as a file of the given format with every role mapped, once
// failing on the first bad example and once skipping bad examples. Either may
// return an error; neither may panic or leak.
func fuzzRead(t *testing.T, name string, data []byte, src pipeline.Source) {
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	src.Path = p
	for _, skip := range []bool{false, true} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		opts := []pipeline.Option{pipeline.WithAllocator(mem), pipeline.WithBatchRows(3)}
		var rejects bytes.Buffer
		if skip {
			opts = append(opts, pipeline.WithSkipErrors(&rejects))
		}
		r, err := pipeline.Open(src, opts...)
		if err == nil {
			for r.Next() {
			}
			var pe *pipeline.Error
			if err := r.Err(); err != nil && errors.As(err, &pe) && pe.Path != p {
				t.Fatalf("error names %q, not the file", pe.Path)
			}
			r.Release()
		}
		mem.AssertSize(t, 0)
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{"a,b\n1,2\n", "a,b\n\"x,y\",2\n3\n", "a,b\n\"unterminated\n", "\ufeffa,b\n1,2\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.csv", data, pipeline.Source{Columns: pipeline.Columns{Text: "a", Tags: "b"}})
		fuzzRead(t, "f.tsv", data, pipeline.Source{Columns: pipeline.Columns{Text: "a", Label: "b"}})
	})
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{`{"a":"x y","b":["O","O"],"c":1}` + "\n", "{\"a\":\n", `{"a":null}`, `[1,2]`, "\n\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.jsonl", data, pipeline.Source{Columns: pipeline.Columns{Tokens: "a", Tags: "b", Label: "c"}})
	})
}

func FuzzCoNLL(f *testing.F) {
	for _, s := range []string{"a X O\nb Y O\n\n", "-DOCSTART- -X- O\n\na O\nb\n", "# c\n1-2\tab\t_\t_\t_\t_\t_\t_\t_\t_\n1\ta\t_\tX\t_\t_\t_\t_\t_\t_\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.conll", data, pipeline.Source{})
		fuzzRead(t, "f.conllu", data, pipeline.Source{Columns: pipeline.Columns{Tokens: "form", Tags: "-1"}})
	})
}

// FuzzDataset opens arbitrary bytes as a cached dataset whose seal is the seed's:
// inputs that keep the seed's footer reach arrow's record decoding and our checks
// of offsets. An error is fine; a panic, an out-of-range read or a runaway
// allocation is not.
func FuzzDataset(f *testing.F) {
	dir := f.TempDir()

	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	d, rep, err := (pipeline.Cache{Dir: dir}).Prepare(pipeline.Source{Path: "testdata/seq.in", Format: pipeline.Text}, &pipeline.Encoder{Tokenizer: tok, Vocabs: pipeline.Vocabs{Input: pipeline.Counter{"taipei": 2}.Build(pipeline.VocabConfig{})}}, 1)
	if err != nil {
		f.Fatal(err)
	}
	d.Close()
	files, _ := filepath.Glob(filepath.Join(dir, "*.arrow"))
	seed, _ := os.ReadFile(files[0])
	f.Add(seed)
	f.Add(seed[:len(seed)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "d.arrow")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := pipeline.OpenDataset(p, rep.Seal)
		if err != nil {
			return
		}
		defer d.Close()
		pipeline.Summarize(d, pipeline.Vocabs{})
		bt, err := pipeline.NewBatcher(d, pipeline.BatchConfig{Size: 2})
		if err != nil {
			return
		}
		for range bt.Epoch(0) { // touch every value
		}
	})
}
