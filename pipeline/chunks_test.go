package pipeline

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// withSerial keeps a reader serial, to compare it with a parallel read.
func withSerial() Option { return func(c *config) { c.serial = true } }

// readDump reads src and writes down every batch (its rows, each column's
// values), the error, and with skip the rejects and their count, as text to
// compare.
func readDump(t testing.TB, src Source, skip bool, opts ...Option) string {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var b, rejects strings.Builder
	if skip {
		opts = append(opts, WithSkipErrors(&rejects))
	}
	r, err := Open(src, append(opts, WithAllocator(mem))...)
	if err != nil {
		return "open: " + err.Error()
	}
	defer r.Release()
	for r.Next() {
		rec := r.RecordBatch()
		fmt.Fprintf(&b, "batch %d\n", rec.NumRows())
		for i := range int(rec.NumRows()) {
			for _, col := range rec.Columns() {
				fmt.Fprintf(&b, "%q ", col.ValueStr(i))
			}
			b.WriteString("\n")
		}
	}
	if err := r.Err(); err != nil {
		fmt.Fprintf(&b, "error: %v\n", err)
	}
	if skip {
		fmt.Fprintf(&b, "skipped %d:\n%s", r.Skipped(), rejects.String())
	}
	return b.String()
}

// sameRead checks that a parallel read of data gives what a serial one
// gives, batch by batch, and the same error: as it is, skipping bad
// examples, and keeping each part of a split.
func sameRead(t testing.TB, data []byte, name string, src Source, batchRows, maxLine int) {
	p := filepath.Join(t.(interface{ TempDir() string }).TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	src.Path = p
	opts := []Option{WithBatchRows(batchRows), WithMaxLineBytes(maxLine)}
	split := RatioSplit{Ratios: []float64{0.7, 0.3}, Seed: 1}
	for _, c := range []struct {
		how  string
		skip bool
		part *Part
	}{{"as it is", false, nil}, {"skipping bad examples", true, nil}, {"part 0 of 2", false, &Part{split, 0}}, {"part 1 of 2, skipping", true, &Part{split, 1}}} {
		src.Part = c.part
		serial := readDump(t, src, c.skip, append(opts, withSerial())...)
		par := readDump(t, src, c.skip, opts...)
		if serial != par {
			t.Fatalf("%s %s, %d rows a batch, lines of at most %d bytes: the parallel read differs\nserial:\n%s\nparallel:\n%s\ninput:\n%q", name, c.how, batchRows, maxLine, clipDump(serial), clipDump(par), clipDump(string(data)))
		}
	}
}

func clipDump(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

// Sources of every format a parallel read cuts, with every role mapped.
var chunkFormats = []struct {
	name string
	src  Source
}{
	{"x.jsonl", Source{Columns: Columns{Text: "text", Label: "label"}}},
	{"x.csv", Source{Columns: Columns{Text: "text", Label: "label"}}},
	{"x.tsv", Source{Columns: Columns{Text: "text", Label: "label"}}},
	{"x.conll", Source{}},
	{"x.txt", Source{}},
	{"x.dict", Source{}},
}

// chunkText writes n examples of a format, with what the framers must get
// right: blank lines, CRLF, comments, quotes over lines, bad examples and
// long lines.
func chunkText(name string, n int, rng *rand.Rand) []byte {
	var b bytes.Buffer
	word := func() string { return []string{"a", "bb", "ccc", "é", "x y", "日本"}[rng.IntN(6)] }
	eol := func() string {
		if rng.IntN(8) == 0 {
			return "\r\n"
		}
		return "\n"
	}
	switch name {
	case "x.jsonl":
		for range n {
			switch rng.IntN(12) {
			case 0:
				b.WriteString("  " + eol())
			case 1:
				fmt.Fprintf(&b, `{"text": "%s", "label": 1}`, word())
			case 2:
				b.WriteString(`{"text": "esc\"aped", "label": "b"}`)
			case 3:
				fmt.Fprintf(&b, `{"text": "%s", "label": "%s"}`, strings.Repeat("long ", 30), word())
			default:
				fmt.Fprintf(&b, `{"text": "%s %s", "label": "%s"}`, word(), word(), word())
			}
			b.WriteString(eol())
		}
	case "x.csv":
		b.WriteString("text,label\n")
		for range n {
			switch rng.IntN(12) {
			case 0:
				b.WriteString(eol())
			case 1:
				fmt.Fprintf(&b, `"%s, ""quoted""",%s`, word(), word())
			case 2:
				fmt.Fprintf(&b, "\"over\n%s\nlines\",%s", word(), word())
			case 3:
				fmt.Fprintf(&b, "%s,%s,", word(), word()) // three fields
			case 4:
				fmt.Fprintf(&b, `"%s",""`, word())
			case 5:
				fmt.Fprintf(&b, `%s,"%s"`, strings.Repeat("long ", 30), word())
			default:
				fmt.Fprintf(&b, "%s %s,%s", word(), word(), word())
			}
			b.WriteString(eol())
		}
	case "x.tsv":
		b.WriteString("text\tlabel\n")
		for range n {
			switch rng.IntN(10) {
			case 0:
				b.WriteString(eol())
			case 1:
				fmt.Fprintf(&b, "%s\t\"%s\"", word(), word())
			case 2:
				fmt.Fprintf(&b, "%s\t%s", strings.Repeat("long ", 30), word())
			default:
				fmt.Fprintf(&b, "%s %s\t%s", word(), word(), word())
			}
			b.WriteString(eol())
		}
	case "x.txt":
		for range n {
			switch rng.IntN(8) {
			case 0:
				b.WriteString(" \t")
			case 1:
				b.WriteString(strings.Repeat("long ", 30))
			case 2:
				b.WriteString("bad \xff")
			default:
				fmt.Fprintf(&b, "%s %s", word(), word())
			}
			b.WriteString(eol())
		}
	case "x.dict":
		for range n {
			switch rng.IntN(10) {
			case 0:
				b.WriteString(";;; a comment")
			case 1:
				b.WriteString("   # only a comment")
			case 2:
				b.WriteString("noentry")
			case 3:
				fmt.Fprintf(&b, "%s(2)  %s %s # note", word(), word(), word())
			case 4:
				b.WriteString(strings.Repeat("LONG ", 30))
			default:
				fmt.Fprintf(&b, "%s  %s %s", word(), word(), word())
			}
			b.WriteString(eol())
		}
	case "x.conll":
		for range n {
			switch rng.IntN(10) {
			case 0:
				b.WriteString("-DOCSTART- -X- O" + eol() + eol())
			case 1:
				b.WriteString("# a comment" + eol())
			case 2:
				b.WriteString(eol())
			}
			for range 1 + rng.IntN(5) {
				if rng.IntN(40) == 0 {
					fmt.Fprintf(&b, "%s O", strings.Repeat("long", 40))
				} else {
					fmt.Fprintf(&b, "%s B-X", word()[:1])
				}
				b.WriteString(eol())
			}
			b.WriteString(eol())
		}
	}
	return b.Bytes()
}

// TestParallelRead: for each format, a parallel read gives the batches, rows
// and errors of a serial read, over many files with what the framers must get
// right, with small batches (many chunks) and a line bound that some lines
// pass (the rest handed back to the serial reader).
func TestParallelRead(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, f := range chunkFormats {
		for trial := range 40 {
			n := 1 + rng.IntN(300)
			data := chunkText(f.name, n, rng)
			batch := 1 + rng.IntN(20)
			maxLine := DefaultMaxLineBytes
			if trial%3 == 0 {
				maxLine = 100
			}
			sameRead(t, data, f.name, f.src, batch, maxLine)
		}
	}
}

// TestParallelReadStarts: a file of many batches is read in parallel (the
// framer cuts it), and its rows come out in order with their lines.
func TestParallelReadStarts(t *testing.T) {
	var b strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&b, "{\"text\": \"w%d\", \"label\": \"a\"}\n", i)
	}
	p := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(p, []byte(b.String()), 0o644)
	r, err := Open(Source{Path: p, Columns: Columns{Text: "text", Label: "label"}}, WithBatchRows(100))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	line, parallel := 0, false
	for r.Next() {
		parallel = parallel || r.par != nil
		rows := r.RecordBatch().Column(0).ValueStr
		for i := range int(r.RecordBatch().NumRows()) {
			line++
			if got := rows(i); got != fmt.Sprint(line) {
				t.Fatalf("row %d has line %s", line, got)
			}
		}
	}
	if r.Err() != nil || line != 5000 || !parallel {
		t.Errorf("err %v, %d rows, parallel %v", r.Err(), line, parallel)
	}
}

// FuzzParallelRead holds a parallel read of any text to a serial one.
func FuzzParallelRead(f *testing.F) {
	rng := rand.New(rand.NewPCG(3, 4))
	for k := range chunkFormats {
		f.Add(chunkText(chunkFormats[k].name, 20, rng), uint8(k), uint8(2), false)
	}
	f.Add([]byte("text,label\n\"a\nb\",c\n\"d\"\"\",e\nf,g\n\"h\",\"i\n"), uint8(1), uint8(1), false)
	f.Add([]byte("a O\n\n# c\n\n-DOCSTART-\n\nb O\nc O\n"), uint8(3), uint8(1), true)
	f.Fuzz(func(t *testing.T, data []byte, format, batch uint8, short bool) {
		ff := chunkFormats[int(format)%len(chunkFormats)]
		maxLine := DefaultMaxLineBytes
		if short {
			maxLine = 16
		}
		sameRead(t, data, ff.name, ff.src, 1+int(batch)%8, maxLine)
	})
}

// TestParallelEncode: EncodeAll on a reader read in parallel, whose workers
// encode the batches, gives the encoded batches, statistics and errors of
// EncodeAll on a serial reader, encoding errors (too many tokens) and
// reading errors included.
func TestParallelEncode(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	tok, err := NewTokenizer(TokenizerConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range chunkFormats {
		for trial := range 12 {
			p := filepath.Join(t.TempDir(), f.name)
			if err := os.WriteFile(p, chunkText(f.name, 50+rng.IntN(400), rng), 0o644); err != nil {
				t.Fatal(err)
			}
			src := f.src
			src.Path = p
			vr, err := Open(src, WithSkipErrors(io.Discard))
			if err != nil {
				t.Fatal(err)
			}
			// Vocabularies from part of the data, so that some tokens and
			// labels are unknown.
			v, err := BuildVocabs(vr, tok, VocabConfig{MaxSize: 8})
			vr.Release()
			if err != nil {
				t.Fatal(err)
			}
			enc := &Encoder{Tokenizer: tok, Vocabs: v}
			if trial%3 == 0 {
				enc.MaxTokens = 4
			}
			batch := 1 + rng.IntN(30)
			encodeDump := func(opts ...Option) string {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				defer mem.AssertSize(t, 0)
				enc.Mem = mem
				r, err := Open(src, append(opts, WithBatchRows(batch), WithAllocator(mem))...)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Release()
				var b strings.Builder
				st, err := enc.EncodeAll(r, 2, func(rec arrow.RecordBatch) error {
					fmt.Fprintf(&b, "batch %d\n", rec.NumRows())
					for i := range int(rec.NumRows()) {
						for _, col := range rec.Columns() {
							fmt.Fprintf(&b, "%s ", col.ValueStr(i))
						}
						b.WriteString("\n")
					}
					return nil
				})
				fmt.Fprintf(&b, "stats %+v\nerror %v\n", st, err)
				return b.String()
			}
			serial, par := encodeDump(withSerial()), encodeDump()
			if serial != par {
				t.Fatalf("%s, %d rows a batch: encoding a parallel read differs\nserial:\n%s\nparallel:\n%s", f.name, batch, clipDump(serial), clipDump(par))
			}
		}
	}
}

// TestParallelReadGivesUp: batches over chunkCap are read on one goroutine
// from where the framer gave up to the end, with the serial read's rows.
func TestParallelReadGivesUp(t *testing.T) {
	var b bytes.Buffer
	long := strings.Repeat("w ", 300<<10)
	for i := range 100 {
		fmt.Fprintf(&b, "{\"text\": \"%s\", \"label\": \"%d\"}\n", long, i)
	}
	// Only the labels are kept, which number the rows: a dump of the text
	// would take seconds.
	src := Source{Columns: Columns{Label: "label"}}
	sameRead(t, b.Bytes(), "x.jsonl", src, 30, DefaultMaxLineBytes)

	p := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(p, b.Bytes(), 0o644)
	src.Path = p
	r, err := Open(src, WithBatchRows(30))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	rows := 0
	for r.Next() {
		rows += int(r.RecordBatch().NumRows())
	}
	if r.Err() != nil || rows != 100 || !r.serial {
		t.Errorf("err %v, %d rows, serial at the end %v", r.Err(), rows, r.serial)
	}
}

// TestParallelReadStops: a cancelled context stops a parallel read at the
// next batch with its cause, and Release leaves no goroutine or batch behind.
func TestParallelReadStops(t *testing.T) {
	var b strings.Builder
	for i := range 20000 {
		fmt.Fprintf(&b, "{\"text\": \"w%d\", \"label\": \"a\"}\n", i)
	}
	p := filepath.Join(t.TempDir(), "x.jsonl")
	os.WriteFile(p, []byte(b.String()), 0o644)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	before := runtime.NumGoroutine()
	ctx, cancel := context.WithCancelCause(context.Background())
	defer cancel(nil)
	stop := errors.New("interrupted")
	r, err := Open(Source{Path: p, Columns: Columns{Text: "text", Label: "label"}}, WithBatchRows(100), WithContext(ctx), WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	batches := 0
	for r.Next() {
		if batches++; batches == 3 {
			if r.par == nil {
				t.Fatal("not read in parallel")
			}
			cancel(stop)
		}
	}
	if !errors.Is(r.Err(), stop) || batches != 3 {
		t.Errorf("after %d batches: %v, want the cause", batches, r.Err())
	}
	r.Release()
	for range 100 {
		if runtime.NumGoroutine() <= before {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Errorf("%d goroutines, %d before", runtime.NumGoroutine(), before)
}

// TestParallelReadLongLine: a line over the bound after the first batch is
// given to the serial reader once it passes the bound, not gathered whole:
// reading a 24 MiB line under a 1 MiB bound allocates a few MiB.
func TestParallelReadLongLine(t *testing.T) {
	var b bytes.Buffer
	for i := range 3000 {
		fmt.Fprintf(&b, "{\"text\": \"w%d\", \"label\": \"a\"}\n", i)
	}
	b.WriteString(`{"text": "`)
	b.Write(bytes.Repeat([]byte("a"), 24<<20))
	p := filepath.Join(t.TempDir(), "x.jsonl")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	b = bytes.Buffer{}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r, err := Open(Source{Path: p, Columns: Columns{Text: "text", Label: "label"}}, WithBatchRows(100), WithMaxLineBytes(1<<20))
	if err != nil {
		t.Fatal(err)
	}
	for r.Next() {
	}
	r.Release()
	runtime.ReadMemStats(&after)
	if err := r.Err(); err == nil || !strings.Contains(err.Error(), ":3001: line longer than") {
		t.Errorf("error %v, want line 3001 over the bound", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("allocated %d MiB", alloc>>20)
	}
}
