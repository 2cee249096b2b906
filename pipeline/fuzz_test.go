package pipeline_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
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
			if err = r.Err(); err != nil && errors.As(err, &pe) && pe.Path != p {
				t.Fatalf("error names %q, not the file", pe.Path)
			}
			r.Release()
		}
		// A panic of arrow's decoder, recovered by arrow or by us, leaves its
		// buffers to the garbage collector; everything else must be released.
		if arrowPanic := func(s string) bool { return strings.Contains(s, "corrupt file") || strings.Contains(s, "arrow/ipc") }; err == nil || (!arrowPanic(err.Error()) && !arrowPanic(rejects.String())) {
			mem.AssertSize(t, 0)
		}
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

// FuzzVocab reads arbitrary bytes as a vocabulary file (a run directory's
// vocab/*.txt): it loads or fails with the file named, never panics, and what
// loads saves back to an identical vocabulary.
func FuzzVocab(f *testing.F) {
	for _, s := range []string{"<pad>\n<unk>\n<bos>\n<eos>\ntaipei\n", "B-x\nO\n", "a\\nb\n\\\\\n", "x\nx\n", ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "v.txt")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		v, err := pipeline.LoadVocab(p, 1000)
		if err != nil {
			var pe *pipeline.Error
			if !errors.As(err, &pe) && !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		q := filepath.Join(dir, "w.txt")
		if err := v.Save(q); err != nil {
			t.Fatal(err)
		}
		w, err := pipeline.LoadVocab(q, 1000)
		if err != nil || !slices.Equal(v.Tokens(), w.Tokens()) {
			t.Fatalf("saved and loaded again: %v, %q vs %q", err, w.Tokens(), v.Tokens())
		}
	})
}

// FuzzArrowIPC reads arbitrary bytes as an Arrow IPC file and stream given as
// a data source: errors name the file; no panic, no runaway allocation (a
// message or compressed buffer claiming terabytes is refused).
func FuzzArrowIPC(f *testing.F) {
	mem := memory.NewGoAllocator()
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"arrive taipei", "leave taipei"}, nil)
	lb := array.NewStringBuilder(mem)
	lb.AppendValues([]string{"to", "from"}, nil)
	a, b := sb.NewArray(), lb.NewArray()
	schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String}, {Name: "b", Type: arrow.BinaryTypes.String}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{a, b}, 2)
	var file, stream bytes.Buffer
	fw, _ := ipc.NewFileWriter(&file, ipc.WithSchema(schema))
	fw.Write(rec)
	fw.Close()
	sw := ipc.NewWriter(&stream, ipc.WithSchema(schema), ipc.WithLZ4())
	sw.Write(rec)
	sw.Close()
	f.Add(file.Bytes())
	f.Add(stream.Bytes())
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.arrow", data, pipeline.Source{Columns: pipeline.Columns{Text: "a", Label: "b"}})
		fuzzRead(t, "f.arrows", data, pipeline.Source{Columns: pipeline.Columns{Text: "a", Label: "b"}})
	})
}

// FuzzText reads arbitrary bytes as a text file (one example per line) and as
// a pronunciation dictionary (word, then its phones; word(2) for a variant).
func FuzzText(f *testing.F) {
	for _, s := range []string{"arrive taipei\nleave taipei\n", "aalborg AO1 L B AO0 R G # place\nword(2) W ER1 D\n", "\r\n\r\n", "x(\n"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.txt", data, pipeline.Source{})
		fuzzRead(t, "f.dict", data, pipeline.Source{})
	})
}

// FuzzParquet reads arbitrary bytes as a Parquet data source.
func FuzzParquet(f *testing.F) {
	seed, err := os.ReadFile("testdata/small.parquet")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzRead(t, "f.parquet", data, pipeline.Source{Columns: pipeline.Columns{Tokens: "words", Label: "class"}})
	})
}
