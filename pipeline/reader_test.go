package pipeline_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/seqkit/seqkit/pipeline"
)

// row is one example as the tests compare it: the row position and each role's
// value, lists joined with "|".
type row map[string]any

// readAll reads src to the end with a leak-checking allocator and returns its rows.
func readAll(t *testing.T, src pipeline.Source, opts ...pipeline.Option) ([]row, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r, err := pipeline.Open(src, append([]pipeline.Option{pipeline.WithAllocator(mem), pipeline.WithBatchRows(2)}, opts...)...)
	if err != nil {
		return nil, err
	}
	defer r.Release()
	var rows []row
	for r.Next() {
		rec := r.RecordBatch()
		if !rec.Schema().Equal(r.Schema()) {
			t.Fatalf("batch schema %v differs from reader schema %v", rec.Schema(), r.Schema())
		}
		rows = append(rows, recordRows(rec)...)
	}
	return rows, r.Err()
}

func recordRows(rec arrow.RecordBatch) []row {
	var rows []row
	for i := 0; i < int(rec.NumRows()); i++ {
		rw := row{}
		for c, f := range rec.Schema().Fields() {
			switch col := rec.Column(c).(type) {
			case *array.Int64:
				rw[f.Name] = int(col.Value(i))
			case *array.Int32:
				rw[f.Name] = int(col.Value(i))
			case *array.String:
				rw[f.Name] = col.Value(i)
			case *array.List:
				s, e := col.ValueOffsets(i)
				vals := col.ListValues().(*array.String)
				var items []string
				for j := s; j < e; j++ {
					items = append(items, vals.Value(int(j)))
				}
				rw[f.Name] = strings.Join(items, "|")
			}
		}
		rows = append(rows, rw)
	}
	return rows
}

func TestFormats(t *testing.T) {
	cases := []struct {
		name string
		src  pipeline.Source
		want []row
	}{
		{"csv", pipeline.Source{Path: "testdata/small.csv", Columns: pipeline.Columns{Text: "sentence", Label: "label"}}, []row{
			{"row": 2, "text": "Hello, world", "label": "pos"},
			{"row": 3, "text": `He said "no"`, "label": "neg"},
			{"row": 4, "text": "plain text", "label": "pos"},
		}},
		{"tsv", pipeline.Source{Path: "testdata/small.tsv", Columns: pipeline.Columns{Tokens: "sentence", Label: "label"}}, []row{
			{"row": 2, "tokens": `"quoted"|start`, "label": "pos"},
			{"row": 3, "tokens": "second|one", "label": "neg"},
		}},
		{"tsv-no-header", pipeline.Source{Path: "testdata/small.tsv", NoHeader: true, Columns: pipeline.Columns{Text: "1", Label: "-1"}}, []row{
			{"row": 1, "text": "sentence", "label": "label"},
			{"row": 2, "text": `"quoted" start`, "label": "pos"},
			{"row": 3, "text": "second one", "label": "neg"},
		}},
		{"jsonl", pipeline.Source{Path: "testdata/small.jsonl", Columns: pipeline.Columns{Text: "text", Tokens: "tokens", Tags: "tags", Label: "label"}}, []row{
			{"row": 1, "text": "book a flight", "tokens": "book|a|flight", "tags": "O|O|O", "label": "flight"},
			{"row": 3, "text": "to Taipei", "tokens": "to|Taipei", "tags": "O|B-toloc", "label": "3"},
		}},
		{"conll", pipeline.Source{Path: "testdata/small.conll"}, []row{
			{"row": 3, "tokens": "Confidence|in", "tags": "B-NP|B-PP"},
			{"row": 7, "tokens": "the|pound|.", "tags": "B-NP|I-NP|O"},
		}},
		{"conll-pos", pipeline.Source{Path: "testdata/small.conll", Columns: pipeline.Columns{Tokens: "1", Tags: "2"}}, []row{
			{"row": 3, "tokens": "Confidence|in", "tags": "NN|IN"},
			{"row": 7, "tokens": "the|pound|.", "tags": "DT|NN|."},
		}},
		{"conllu", pipeline.Source{Path: "testdata/small.conllu", Columns: pipeline.Columns{Tokens: "form", Tags: "upos"}}, []row{
			{"row": 3, "tokens": "Do|n't|go|.", "tags": "AUX|PART|VERB|PUNCT"},
		}},
		{"text", pipeline.Source{Path: "testdata/lines.txt"}, []row{
			{"row": 1, "text": "line one"},
			{"row": 4, "text": "line two"},
		}},
		{"parallel", pipeline.Source{Format: pipeline.Text, Files: pipeline.Columns{Tokens: "testdata/seq.in", Tags: "testdata/seq.out", Label: "testdata/label"}}, []row{
			{"row": 1, "tokens": "arrive|taipei", "tags": "O|B-toloc", "label": "flight"},
			{"row": 2, "tokens": "", "tags": "", "label": "none"},
			{"row": 3, "tokens": "leave|taipei|on|monday", "tags": "O|B-fromloc|O|B-depart_date", "label": "flight"},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := readAll(t, c.src)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Fatalf("got  %v\nwant %v", got, c.want)
			}
		})
	}
}

// TestArrowFormats reads the same examples from the Parquet, Arrow IPC file and
// Arrow IPC stream fixtures (large_list<large_utf8> tokens, int32 labels, two
// record batches); go test -update rewrites them.
func TestArrowFormats(t *testing.T) {
	dir := t.TempDir()
	if *update {
		dir = "testdata"
	}
	want := []row{
		{"row": 1, "tokens": "a|b", "label": "7"},
		{"row": 2, "tokens": "c", "label": "-1"},
		{"row": 3, "tokens": "", "label": "0"},
	}
	paths := writeArrowFixtures(t, dir)
	for name, p := range paths {
		p = filepath.Join("testdata", filepath.Base(p))
		t.Run(name, func(t *testing.T) {
			got, err := readAll(t, pipeline.Source{Path: p, Columns: pipeline.Columns{Tokens: "words", Label: "class"}})
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func TestBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	cases := []struct {
		name string
		src  pipeline.Source
		want string // the error must contain this, after the position
	}{
		{"ragged csv", pipeline.Source{Path: write("r.csv", "a,b\n1,2\n3\n4,5\n"), Columns: pipeline.Columns{Text: "a"}}, "r.csv:3: 1 fields, but the first row has 2"},
		{"bad quote csv", pipeline.Source{Path: write("q.csv", "a,b\n1,\"x\"y\n"), Columns: pipeline.Columns{Text: "a"}}, `q.csv:2:5: extraneous or missing " in quoted-field`},
		{"ragged tsv", pipeline.Source{Path: write("r.tsv", "a\tb\n1\t2\n3\n"), Columns: pipeline.Columns{Text: "a"}}, "r.tsv:3: 1 fields, but the first row has 2"},
		{"missing column", pipeline.Source{Path: write("m.csv", "a,b\n1,2\n"), Columns: pipeline.Columns{Text: "c"}}, `m.csv:1: no column "c" for text; the header has "a", "b"`},
		{"empty csv", pipeline.Source{Path: write("e.csv", ""), Columns: pipeline.Columns{Text: "a"}}, "e.csv: no examples"},
		{"header only", pipeline.Source{Path: write("h.csv", "a\n"), Columns: pipeline.Columns{Text: "a"}}, "h.csv: no examples"},
		{"invalid json", pipeline.Source{Path: write("j.jsonl", "{\"a\": \"x\"}\n{\"a\": \n"), Columns: pipeline.Columns{Text: "a"}}, "j.jsonl:2:"},
		{"json missing key", pipeline.Source{Path: write("k.jsonl", "{\"b\": \"x\"}\n"), Columns: pipeline.Columns{Text: "a"}}, `k.jsonl:1: no key "a" for text`},
		{"json wrong type", pipeline.Source{Path: write("w.jsonl", "{\"a\": {}}\n"), Columns: pipeline.Columns{Text: "a"}}, `w.jsonl:1: key "a": want a string`},
		{"conll columns", pipeline.Source{Path: write("c.conll", "a X O\nb Y\n\n")}, "c.conll:2: 2 columns, but the file's token lines have 3"},
		{"invalid utf8", pipeline.Source{Path: write("u.txt", "ok\nbad \xff byte\n")}, "u.txt:2: invalid UTF-8 in text"},
		{"tags mismatch", pipeline.Source{Path: write("t.jsonl", "{\"x\": \"a b\", \"y\": \"O\"}\n"), Columns: pipeline.Columns{Tokens: "x", Tags: "y"}}, "t.jsonl:1: 2 tokens but 1 tags"},
		{"empty text", pipeline.Source{Path: write("empty.txt", "")}, "empty.txt: no examples"},
		{"not parquet", pipeline.Source{Path: write("n.parquet", "this is not parquet"), Columns: pipeline.Columns{Text: "a"}}, "n.parquet: not a readable Parquet file"},
		{"not arrow", pipeline.Source{Path: write("n.arrow", "this is not arrow"), Columns: pipeline.Columns{Text: "a"}}, "n.arrow: not a readable Arrow IPC file"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := readAll(t, c.src)
			if err == nil {
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %q does not contain %q", err, c.want)
			}
			var pe *pipeline.Error
			if !errors.As(err, &pe) || !errors.Is(err, pipeline.ErrBadInput) {
				t.Fatalf("error %q is not a *pipeline.Error wrapping ErrBadInput", err)
			}
		})
	}
	t.Run("parallel lengths", func(t *testing.T) {
		_, err := readAll(t, pipeline.Source{Format: pipeline.Text, Files: pipeline.Columns{Tokens: write("a.in", "x\ny\n"), Tags: write("a.out", "O\n")}})
		if err == nil || !strings.Contains(err.Error(), "differ in length") {
			t.Fatalf("error %v, want a length mismatch", err)
		}
	})
	t.Run("unknown extension", func(t *testing.T) {
		_, err := pipeline.Open(pipeline.Source{Path: "data.xyz"})
		if err == nil || !strings.Contains(err.Error(), `cannot tell the format from the extension ".xyz"`) {
			t.Fatalf("error %v", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := pipeline.Open(pipeline.Source{Path: filepath.Join(dir, "nope.csv"), Columns: pipeline.Columns{Text: "a"}})
		if err == nil || !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), "nope.csv") {
			t.Fatalf("error %v", err)
		}
	})
}

// TestSkipErrors: with on_error: skip every bad example goes to the rejects file
// with its position and reason, the good ones are read, and the count is reported.
func TestSkipErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, file, content string
		cols                pipeline.Columns
		good                int
		rejects             []string
	}{
		{"csv", "s.csv", "a,b\n1,2\n3\nx \xff,5\n6,7\n", pipeline.Columns{Text: "a"}, 2, []string{"s.csv:3\t1 fields, but the first row has 2", "s.csv:4\tinvalid UTF-8 in text"}},
		{"jsonl", "s.jsonl", "{\"a\":\"1\"}\nnot json\n{\"b\":1}\n{\"a\":\"2\"}\n", pipeline.Columns{Text: "a"}, 2, []string{"s.jsonl:2:2\tinvalid JSON", "s.jsonl:3\tno key \"a\" for text"}},
		{"conll", "s.conll", "a X O\nb O\nc X O\n\nd X O\n", pipeline.Columns{}, 1, []string{"s.conll:2\t2 columns"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, c.file)
			if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			var rejects bytes.Buffer
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			r, err := pipeline.Open(pipeline.Source{Path: p, Columns: c.cols}, pipeline.WithAllocator(mem), pipeline.WithSkipErrors(&rejects))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Release()
			n := 0
			for r.Next() {
				n += int(r.RecordBatch().NumRows())
			}
			if err := r.Err(); err != nil {
				t.Fatal(err)
			}
			if n != c.good || r.Skipped() != len(c.rejects) {
				t.Fatalf("read %d, skipped %d; want %d and %d\nrejects:\n%s", n, r.Skipped(), c.good, len(c.rejects), rejects.String())
			}
			lines := strings.Split(strings.TrimSpace(rejects.String()), "\n")
			for i, want := range c.rejects {
				if !strings.HasPrefix(lines[i], filepath.Join(dir, want[:strings.Index(want, "\t")])+want[strings.Index(want, "\t"):]) {
					t.Errorf("reject %d = %q, want it to start with %q", i, lines[i], want)
				}
			}
		})
	}
}

func TestFormatOf(t *testing.T) {
	for path, want := range map[string]pipeline.Format{"a.CSV": pipeline.CSV, "b.tsv": pipeline.TSV, "c.jsonl": pipeline.JSONL,
		"d.conllu": pipeline.CoNLL, "e.txt": pipeline.Text, "f.parquet": pipeline.Parquet, "g.arrow": pipeline.ArrowFile, "h.arrows": pipeline.ArrowStream} {
		if got, err := pipeline.FormatOf(path); err != nil || got != want {
			t.Errorf("FormatOf(%q) = %q, %v; want %q", path, got, err, want)
		}
	}
}

func TestProgress(t *testing.T) {
	var calls int
	var done, total int64
	rows, err := readAll(t, pipeline.Source{Path: "testdata/small.csv", Columns: pipeline.Columns{Text: "sentence"}},
		pipeline.WithProgress(func(d, tot int64) { calls, done, total = calls+1, d, tot }))
	if err != nil {
		t.Fatal(err)
	}
	st, _ := os.Stat("testdata/small.csv")
	if calls != 2 || len(rows) != 3 || done != st.Size() || total != st.Size() {
		t.Fatalf("%d reports, last %d of %d; want 2 (one per batch of 2), ending at %d of %d", calls, done, total, st.Size(), st.Size())
	}
}

// TestLongLines: a line over the limit is a bad example; skipping it goes on at
// the next line.
func TestLongLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "long.txt")
	writeFile(t, p, "short\n"+strings.Repeat("x", 200000)+"\nafter\n")
	_, err := readAll(t, pipeline.Source{Path: p}, pipeline.WithMaxLineBytes(1000))
	if err == nil || !strings.Contains(err.Error(), "long.txt:2: line longer than 1000 bytes") {
		t.Fatalf("error %v", err)
	}
	var rejects bytes.Buffer
	rows, err := readAll(t, pipeline.Source{Path: p}, pipeline.WithMaxLineBytes(1000), pipeline.WithSkipErrors(&rejects))
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[1]["text"] != "after" || rows[1]["row"] != 3 {
		t.Fatalf("rows %v", rows)
	}
}

// TestPart checks that the parts of a ratio split of a source's rows are
// disjoint, cover every row, and follow RatioSplit.Part.
func TestPart(t *testing.T) {
	dir := t.TempDir()
	var b strings.Builder
	for i := range 200 {
		b.WriteString(strings.Repeat("w", i%7+1) + "\n")
	}
	p := filepath.Join(dir, "lines.txt")
	os.WriteFile(p, []byte(b.String()), 0o644)
	split := pipeline.RatioSplit{Ratios: []float64{0.8, 0.2}, Seed: 3}
	seen := map[int64]int{}
	for part := range 2 {
		rows, err := readAll(t, pipeline.Source{Path: p, Part: &pipeline.Part{Split: split, Index: part}})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			n := int64(r["row"].(int))
			if split.Part(n) != part {
				t.Errorf("row %d in part %d, RatioSplit says %d", n, part, split.Part(n))
			}
			seen[n]++
		}
		if part == 1 && (len(rows) < 20 || len(rows) > 60) {
			t.Errorf("dev part has %d of 200 rows, want about 40", len(rows))
		}
	}
	if len(seen) != 200 {
		t.Errorf("parts cover %d of 200 rows", len(seen))
	}
}

// TestDict reads a pronunciation dictionary: variant marks removed, comments and
// ";;;" lines skipped, and a line without a pronunciation is an error with its
// line number.
func TestDict(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.dict")
	os.WriteFile(p, []byte(";;; a comment\n'bout B AW1 T\nread R IY1 D\nread(2) R EH1 D\n\naalborg AO1 L B AO0 R G # place, danish\n"), 0o644)
	rows, err := readAll(t, pipeline.Source{Path: p})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rows {
		got = append(got, fmt.Sprintf("%v=%v", r["text"], r["target"]))
	}
	want := []string{"'bout=B AW1 T", "read=R IY1 D", "read=R EH1 D", "aalborg=AO1 L B AO0 R G"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	os.WriteFile(p, []byte("ok OW1 K EY1\nlonely\n"), 0o644)
	if _, err := readAll(t, pipeline.Source{Path: p}); err == nil || !strings.Contains(err.Error(), "x.dict:2") {
		t.Errorf("entry without a pronunciation: %v", err)
	}
}
