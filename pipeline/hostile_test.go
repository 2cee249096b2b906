package pipeline

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// allocated runs f and returns the bytes it allocated.
func allocated(f func()) uint64 {
	var a, b runtime.MemStats
	runtime.ReadMemStats(&a)
	f()
	runtime.ReadMemStats(&b)
	return b.TotalAlloc - a.TotalAlloc
}

// readAll opens src and reads it to the end, returning the first error.
func readAll(src Source, opts ...Option) error {
	r, err := Open(src, opts...)
	if err != nil {
		return err
	}
	defer r.Release()
	for r.Next() {
	}
	return r.Err()
}

// TestHostileSizes feeds inputs that claim or hold far more than any real one:
// each is refused with the file and line named, before the memory is taken.
func TestHostileSizes(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tok, _ := NewTokenizer(TokenizerConfig{})

	t.Run("a line of 100 MB", func(t *testing.T) {
		line := bytes.Repeat([]byte("taipei "), 100<<20/7)
		p := write("long.txt", append(append([]byte("arrive taipei\n"), line...), "\nleave taipei\n"...))
		line = nil
		var err error
		n := allocated(func() { err = readAll(Source{Path: p, Format: Text}) })
		if err == nil || !strings.Contains(err.Error(), "long.txt:2: line longer than 8388608 bytes (data.limits.max_line_bytes)") {
			t.Fatalf("error %v", err)
		}
		if n > 64<<20 {
			t.Errorf("refusing the line allocated %d MB; it should stop near the limit", n>>20)
		}
		// Raised in the recipe, the same line is read.
		if err := readAll(Source{Path: p, Format: Text}, WithMaxLineBytes(128<<20)); err != nil {
			t.Errorf("with the limit raised: %v", err)
		}
	})

	t.Run("a CSV record of 50 MB", func(t *testing.T) {
		// encoding/csv has no bound of its own: the reader must stop it at the
		// limit, both for a long line and for a quote never closed, whose record
		// runs over many short lines.
		long := "text,label\narrive taipei,a\n" + strings.Repeat("taipei ", 50<<20/7) + ",b\nleave taipei,c\n"
		open := "text,label\narrive taipei,a\n\"leave taipei,b\n" + strings.Repeat("taipei,c\n", 50<<20/9)
		for _, c := range []struct{ name, data, want string }{
			{"long.csv", long, "long.csv:3: the record starting here is longer than 1000 bytes (data.limits.max_line_bytes)"},
			{"open.csv", open, "open.csv:3: the record starting here is longer than 1000 bytes (data.limits.max_line_bytes)"},
		} {
			p := write(c.name, []byte(c.data))
			var err error
			n := allocated(func() {
				err = readAll(Source{Path: p, Columns: Columns{Text: "text", Label: "label"}}, WithMaxLineBytes(1000), WithSkipErrors(io.Discard))
			})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s: error %v, want %q", c.name, err, c.want)
			}
			if n > 1<<20 {
				t.Errorf("%s: refusing it allocated %d bytes; it should stop near the limit", c.name, n)
			}
		}
		// The default limit lets the long line through and still stops the quote.
		if err := readAll(Source{Path: write("long.csv", []byte(long)), Columns: Columns{Text: "text", Label: "label"}}, WithMaxLineBytes(64<<20)); err != nil {
			t.Errorf("with the limit raised: %v", err)
		}
		small := "text,label\narrive taipei,a\n\"leave taipei,b\nx,c\ny,d\n"
		err := readAll(Source{Path: write("small.csv", []byte(small)), Columns: Columns{Text: "text", Label: "label"}})
		if want := "small.csv:3: a quoted field of the record starting here is not closed"; err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("an unclosed quote: %v, want %q", err, want)
		}
	})

	t.Run("a sequence of a million tokens", func(t *testing.T) {
		p := write("million.txt", []byte("arrive taipei\n"+strings.Repeat("a ", 1_000_000)+"\n"))
		_, err := VocabsOf(Source{Path: p, Format: Text}, tok, VocabConfig{})
		if err == nil || !strings.Contains(err.Error(), "million.txt:2: the input has 1000000 tokens, more than the limit of 100000 (data.limits.max_tokens)") {
			t.Fatalf("building the vocabulary: %v", err)
		}
		// Encoding (dev, test, prediction input) refuses it too.
		v := Vocabs{Input: Counter{"a": 1}.Build(VocabConfig{})}
		_, _, err = Cache{Dir: t.TempDir()}.Prepare(Source{Path: p, Format: Text}, &Encoder{Tokenizer: tok, Vocabs: v}, 1)
		if err == nil || !strings.Contains(err.Error(), "million.txt:2: the input has 1000000 tokens") {
			t.Fatalf("encoding: %v", err)
		}
		if _, _, err := (Cache{Dir: t.TempDir()}).Prepare(Source{Path: p, Format: Text}, &Encoder{Tokenizer: tok, Vocabs: v, MaxTokens: 2_000_000}, 1); err != nil {
			t.Errorf("with the limit raised: %v", err)
		}
	})

	t.Run("a vocabulary of 50 million entries", func(t *testing.T) {
		// A file that goes on past the limit is refused at the first line over
		// it: shown with a limit of 1000 over 5000 lines, which is how a file of
		// 50 million lines meets the default of 10 million.
		var b strings.Builder
		for i := range 5000 {
			fmt.Fprintf(&b, "w%d\n", i)
		}
		p := write("vocab.txt", []byte(b.String()))
		_, err := LoadVocab(p, 1000)
		if err == nil || !strings.Contains(err.Error(), "vocab.txt:1001: more than 1000 entries") {
			t.Fatalf("error %v", err)
		}
		// Counting a training split stops too.
		_, err = VocabsOf(Source{Path: write("distinct.txt", []byte(strings.ReplaceAll(b.String(), "\n", " ")+"\n")), Format: Text}, tok, VocabConfig{Limits: Limits{MaxVocab: 1000}})
		if err == nil || !strings.Contains(err.Error(), "distinct.txt:1: more than 1000 distinct tokens") {
			t.Fatalf("counting: %v", err)
		}
	})

	// An Arrow IPC stream of two string columns, and where its record batch's
	// metadata and body are.
	stream := func(opts ...ipc.Option) []byte {
		mem := memory.NewGoAllocator()
		sb := array.NewStringBuilder(mem)
		sb.AppendValues([]string{"arrive taipei", "leave taipei"}, nil)
		a := sb.NewArray()
		schema := arrow.NewSchema([]arrow.Field{{Name: "a", Type: arrow.BinaryTypes.String}}, nil)
		var buf bytes.Buffer
		w := ipc.NewWriter(&buf, append(opts, ipc.WithSchema(schema))...)
		w.Write(array.NewRecordBatch(schema, []arrow.Array{a}, 2))
		w.Close()
		return buf.Bytes()
	}
	// message returns the metadata of the i-th message of a stream and where
	// its body starts.
	message := func(data []byte, i int) (fbuf, int) {
		pos := 0
		for k := 0; ; k++ {
			n := int(binary.LittleEndian.Uint32(data[pos+4:]))
			meta := fbuf(data[pos+8 : pos+8+n])
			root, _ := meta.root()
			body := 0
			if p, ok := root.field(3, 8); ok {
				body = int(binary.LittleEndian.Uint64(meta[p:]))
			}
			if k == i {
				return meta, pos + 8 + n
			}
			pos += 8 + n + body
		}
	}
	open := func(data []byte) error {
		return readAll(Source{Path: write("s.arrows", data), Columns: Columns{Text: "a"}})
	}
	if err := open(stream()); err != nil {
		t.Fatalf("the unaltered stream: %v", err)
	}

	t.Run("an Arrow message whose body claims a terabyte", func(t *testing.T) {
		data := stream()
		meta, _ := message(data, 1)
		root, _ := meta.root()
		p, _ := root.field(3, 8)
		binary.LittleEndian.PutUint64(meta[p:], 1<<40)
		var err error
		n := allocated(func() { err = open(data) })
		if err == nil || !strings.Contains(err.Error(), "s.arrows: not a readable Arrow IPC stream: message 1: body of 1099511627776 bytes, past the end of the data") {
			t.Fatalf("error %v", err)
		}
		if n > 1<<20 {
			t.Errorf("refusing it allocated %d bytes", n)
		}
	})

	t.Run("an Arrow schema that claims two billion fields", func(t *testing.T) {
		data := stream()
		meta, _ := message(data, 0)
		root, _ := meta.root()
		schema, _, _ := root.table(2)
		start, _, _ := schema.vector(1, 4)
		binary.LittleEndian.PutUint32(meta[start-4:], 1<<31-1)
		err := open(data)
		if err == nil || !strings.Contains(err.Error(), "s.arrows: not a readable Arrow IPC stream: message 0: schema: corrupt metadata") {
			t.Fatalf("error %v", err)
		}
	})

	t.Run("a compressed Arrow buffer that claims a terabyte", func(t *testing.T) {
		data := stream(ipc.WithLZ4())
		meta, body := message(data, 1)
		root, _ := meta.root()
		rb, _, _ := root.table(2)
		start, count, _ := rb.vector(2, 16) // Buffer structs: offset, length
		for i := range count {
			off := int(binary.LittleEndian.Uint64(meta[start+16*i:]))
			if binary.LittleEndian.Uint64(meta[start+16*i+8:]) > 0 {
				binary.LittleEndian.PutUint64(data[body+off:], 1<<40)
				break
			}
		}
		var err error
		n := allocated(func() { err = open(data) })
		if err == nil || !strings.Contains(err.Error(), "buffer of 1099511627776 bytes, more than the limit of 1073741824") {
			t.Fatalf("error %v", err)
		}
		if n > 1<<20 {
			t.Errorf("refusing it allocated %d bytes", n)
		}
		var pe *Error
		if !errors.As(err, &pe) || !strings.HasSuffix(pe.Path, "s.arrows") {
			t.Errorf("error %v does not name the file", err)
		}
	})
}

// TestNoSilentWrongResults: inputs that used to be read as something they are
// not. A byte-order mark is dropped at the start of every text format (one
// rule for all); a number where JSON Lines should hold text, an empty label
// and a line of invalid UTF-8 in a CoNLL sentence are errors at their line
// (skip_errors leaves them out, counted).
func TestNoSilentWrongResults(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	first := func(src Source) (map[string]any, error) {
		r, err := Open(src)
		if err != nil {
			return nil, err
		}
		defer r.Release()
		if !r.Next() {
			return nil, r.Err()
		}
		rec := r.RecordBatch()
		out := map[string]any{}
		for i, f := range rec.Schema().Fields() {
			switch c := rec.Column(i).(type) {
			case *array.String:
				out[f.Name] = c.Value(0)
			case *array.List:
				s, e := c.ValueOffsets(0)
				var items []string
				for k := s; k < e; k++ {
					items = append(items, c.ListValues().(*array.String).Value(int(k)))
				}
				out[f.Name] = items
			}
		}
		return out, nil
	}
	const bom = "\ufeff"
	for _, c := range []struct {
		name string
		src  Source
		key  string
		want string
	}{
		{"conll", Source{Path: write("a.conll", bom+"arrive\tO\ntaipei\tB-toloc\n"), Columns: Columns{Tokens: "1", Tags: "2"}}, "tokens", "[arrive taipei]"},
		{"jsonl", Source{Path: write("a.jsonl", bom+`{"text": "arrive taipei", "label": "a"}`+"\n"), Columns: Columns{Text: "text", Label: "label"}}, "text", "arrive taipei"},
		{"tsv", Source{Path: write("a.tsv", bom+"arrive taipei\ta\n"), NoHeader: true, Columns: Columns{Text: "1", Label: "2"}}, "text", "arrive taipei"},
		{"csv without header", Source{Path: write("b.csv", bom+"arrive taipei,a\n"), NoHeader: true, Columns: Columns{Text: "1", Label: "2"}}, "text", "arrive taipei"},
		{"csv with header", Source{Path: write("c.csv", bom+"text,label\narrive taipei,a\n"), Columns: Columns{Text: "text", Label: "label"}}, "text", "arrive taipei"},
		{"text", Source{Path: write("a.txt", bom+"arrive taipei\n"), Format: Text}, "text", "arrive taipei"},
		{"a file of two bytes", Source{Path: write("ab.txt", "ab"), Format: Text}, "text", "ab"},
	} {
		row, err := first(c.src)
		if err != nil || fmt.Sprint(row[c.key]) != c.want {
			t.Errorf("%s with a byte-order mark: %s = %q (%v), want %q", c.name, c.key, row[c.key], err, c.want)
		}
	}

	for _, c := range []struct {
		name string
		src  Source
		want string
	}{
		{"a number as text", Source{Path: write("n.jsonl", `{"text": "arrive", "label": "a"}`+"\n"+`{"text": 12, "label": "a"}`+"\n"), Columns: Columns{Text: "text", Label: "label"}},
			`n.jsonl:2: key "text": want a string of text for text, got a number "12"`},
		{"a boolean as text", Source{Path: write("b.jsonl", `{"text": true, "label": "a"}`+"\n"), Columns: Columns{Text: "text", Label: "label"}},
			`b.jsonl:1: key "text": want a string of text for text, got a boolean "true"`},
		{"not an object", Source{Path: write("o.jsonl", `["arrive", "a"]`+"\n"), Columns: Columns{Text: "text"}},
			`o.jsonl:1: want a JSON object {...}, got an array "[\"arrive\", \"a\"]"`},
		{"an empty label", Source{Path: write("e.csv", "text,label\narrive taipei,a\nleave taipei, \n"), Columns: Columns{Text: "text", Label: "label"}},
			"e.csv:3: empty label"},
		{"invalid UTF-8 in a CoNLL sentence", Source{Path: write("u.conll", "arrive\tO\ntaipei\tB-toloc\non\tO\n\xff\xfe\tO\n"), Columns: Columns{Tokens: "1", Tags: "2"}},
			"u.conll:4: invalid UTF-8"},
	} {
		err := readAll(c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	// A number or boolean label is a label as written (0/1 sentiment).
	row, err := first(Source{Path: write("l.jsonl", `{"text": "good", "label": 1}`+"\n"), Columns: Columns{Text: "text", Label: "label"}})
	if err != nil || row["label"] != "1" {
		t.Errorf("a numeric label: %v %v", row, err)
	}
	// skip_errors leaves the empty label out and counts it.
	var rejects bytes.Buffer
	r, err := Open(Source{Path: filepath.Join(dir, "e.csv"), Columns: Columns{Text: "text", Label: "label"}}, WithSkipErrors(&rejects))
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
	}
	if r.Err() != nil || r.Skipped() != 1 || !strings.Contains(rejects.String(), "e.csv:3\tempty label") {
		t.Errorf("skipping: %v, %d skipped, rejects %q", r.Err(), r.Skipped(), rejects.String())
	}
	r.Release()
}

// TestCoNLLSentenceBound: a CoNLL file without blank lines is one sentence;
// its tokens are refused at data.limits.max_tokens as they are read, not
// gathered whole first.
func TestCoNLLSentenceBound(t *testing.T) {
	p := filepath.Join(t.TempDir(), "one.conll")
	os.WriteFile(p, []byte("arrive\tO\n\nx\tO\n"+strings.Repeat("taipei\tB-loc\n", 1_000_000)+"\nleave\tO\n"), 0o644)
	var err error
	n := allocated(func() {
		err = readAll(Source{Path: p, Columns: Columns{Tokens: "1", Tags: "2"}}, WithLimits(Limits{MaxTokens: 1000}))
	})
	if want := "one.conll:3: the sentence has more than 1000 tokens (data.limits.max_tokens)"; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	if n > 8<<20 {
		t.Errorf("refusing it allocated %d MB", n>>20)
	}
	// skip_errors goes on at the next sentence.
	var rejects bytes.Buffer
	r, _ := Open(Source{Path: p, Columns: Columns{Tokens: "1", Tags: "2"}}, WithLimits(Limits{MaxTokens: 1000}), WithSkipErrors(&rejects))
	rows := 0
	for r.Next() {
		rows += int(r.RecordBatch().NumRows())
	}
	if r.Err() != nil || rows != 2 || r.Skipped() != 1 {
		t.Errorf("skipping: %v, %d rows, %d skipped", r.Err(), rows, r.Skipped())
	}
	r.Release()
}
