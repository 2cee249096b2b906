package pipeline_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/seqkit/seqkit/pipeline"
)

// writeCoNLL writes about size bytes of three-column CoNLL sentences.
func writeCoNLL(b testing.TB, path string, size int64) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for i := 0; n < size; i++ {
		for j := 0; j < 8+i%20; j++ {
			k, _ := fmt.Fprintf(w, "w%d POS%d B-X%d\n", (i*31+j*7)%5000, j%40, j%9)
			n += int64(k)
		}
		w.WriteString("\n")
		n++
	}
	w.Flush()
	f.Close()
	return n
}

// writeCSV writes about size bytes of the rows writeJSONL writes, as CSV with
// a header.
func writeCSV(b testing.TB, path string, size int64) int64 {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	n, _ := w.WriteString("text,label\n")
	total := int64(n)
	for i := 0; total < size; i++ {
		k, _ := fmt.Fprintf(w, "w%d w%d w%d w%d w%d w%d w%d w%d w%d w%d w%d w%d,%c\n",
			i%1000, (i*7)%1000, (i*13)%1000, (i*17)%1000, (i*19)%1000, (i*23)%1000, (i*29)%1000, (i*31)%1000, (i*37)%1000, (i*41)%1000, (i*43)%1500, (i*47)%1000, 'a'+rune(i%2))
		total += int64(k)
	}
	w.Flush()
	f.Close()
	return total
}

// BenchmarkEncode measures reading and counting the vocabularies of a 64 MB
// file (vocab), and reading, encoding (2 workers) and caching it, cold (a new
// cache every time) and cached (the cache is there).
func BenchmarkEncode(b *testing.B) {
	dir := b.TempDir()
	type input struct {
		name string
		src  pipeline.Source
		size int64
	}
	jsonl, conll, csv := filepath.Join(dir, "x.jsonl"), filepath.Join(dir, "x.conll"), filepath.Join(dir, "x.csv")
	inputs := []input{
		{"jsonl", pipeline.Source{Path: jsonl, Columns: pipeline.Columns{Text: "text", Label: "label"}}, writeJSONL(b, jsonl, 64<<20)},
		{"csv", pipeline.Source{Path: csv, Columns: pipeline.Columns{Text: "text", Label: "label"}}, writeCSV(b, csv, 64<<20)},
		{"conll", pipeline.Source{Path: conll}, writeCoNLL(b, conll, 64<<20)},
	}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	for _, in := range inputs {
		r, err := pipeline.Open(in.src)
		if err != nil {
			b.Fatal(err)
		}
		v, err := pipeline.BuildVocabs(r, tok, pipeline.VocabConfig{})
		r.Release()
		if err != nil {
			b.Fatal(err)
		}
		enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v}
		// The first pass of a run: reading and counting the vocabularies.
		b.Run(in.name+"/vocab", func(b *testing.B) {
			for b.Loop() {
				if _, err := pipeline.VocabsOf(in.src, tok, pipeline.VocabConfig{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(in.size)/(b.Elapsed().Seconds()/float64(b.N))/1e6, "MB/s")
		})
		for _, cached := range []bool{false, true} {
			name := in.name + "/cold"
			if cached {
				name = in.name + "/cached"
			}
			b.Run(name, func(b *testing.B) {
				cacheDir := filepath.Join(dir, "cache-"+in.name)
				rows := 0
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				cpu0 := cpuTime()
				for b.Loop() {
					if !cached {
						b.StopTimer()
						os.RemoveAll(cacheDir)
						b.StartTimer()
					}
					d, rep, err := pipeline.Cache{Dir: cacheDir}.Prepare(in.src, enc, 2)
					if err != nil {
						b.Fatal(err)
					}
					if rep.Cached != cached && b.N > 1 {
						b.Fatalf("cached = %v", rep.Cached)
					}
					rows = d.NumRows()
					d.Close()
				}
				cpu := cpuTime() - cpu0
				runtime.ReadMemStats(&after)
				sec := b.Elapsed().Seconds() / float64(b.N)
				// The cores busy on average: how well the stages overlap,
				// steadier than MB/s on a shared machine.
				b.ReportMetric(cpu.Seconds()/b.Elapsed().Seconds(), "cores")
				b.ReportMetric(float64(in.size)/sec/1e6, "MB/s")
				b.ReportMetric(float64(rows)/sec, "rows/s")
				b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(b.N)/float64(rows), "allocs/row")
			})
		}
	}
}

// cpuTime is the CPU time of the process so far, user and system.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkReopen opens cached datasets of growing size: memory mapping makes the
// time independent of the size.
func BenchmarkReopen(b *testing.B) {
	dir := b.TempDir()
	mem := memory.NewGoAllocator()
	// One record of 65536 rows × 30 ids (about 8 MB), written as often as needed.
	schema := arrow.NewSchema([]arrow.Field{
		{Name: pipeline.RowField, Type: arrow.PrimitiveTypes.Int64},
		{Name: pipeline.IDsField, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)},
		{Name: pipeline.LengthField, Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	bld := array.NewRecordBuilder(mem, schema)
	ids := bld.Field(1).(*array.ListBuilder)
	for i := 0; i < 65536; i++ {
		bld.Field(0).(*array.Int64Builder).Append(int64(i))
		ids.Append(true)
		for j := 0; j < 30; j++ {
			ids.ValueBuilder().(*array.Int32Builder).Append(int32(j))
		}
		bld.Field(2).(*array.Int32Builder).Append(30)
	}
	rec := bld.NewRecordBatch()
	defer rec.Release()
	for _, mb := range []int{16, 128, 1024} {
		path := filepath.Join(dir, fmt.Sprintf("d%d.arrow", mb))
		seal, err := pipeline.WriteDataset(path, schema, func(emit func(arrow.RecordBatch) error) error {
			for i := 0; i < mb/8; i++ {
				if err := emit(rec); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("%dMB", mb), func(b *testing.B) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			for b.Loop() {
				d, err := pipeline.OpenDataset(path, seal)
				if err != nil {
					b.Fatal(err)
				}
				d.Close()
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(b.N)/1024, "KB-alloc/op")
		})
		os.Remove(path)
	}
}

// BenchmarkEncodeStage measures the encoder alone, on one goroutine: the
// batches of a 16 MB CSV file (BenchmarkEncode's rows) read beforehand,
// split at white space and looked up. Steadier than BenchmarkEncode, whose
// stages share the machine's two cores.
func BenchmarkEncodeStage(b *testing.B) {
	path := filepath.Join(b.TempDir(), "x.csv")
	size := writeCSV(b, path, 16<<20)
	src := pipeline.Source{Path: path, Columns: pipeline.Columns{Text: "text", Label: "label"}}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{})
	if err != nil {
		b.Fatal(err)
	}
	r, err := pipeline.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Release()
	var recs []arrow.RecordBatch
	for r.Next() {
		rec := r.RecordBatch()
		rec.Retain()
		defer rec.Release()
		recs = append(recs, rec)
	}
	if err := r.Err(); err != nil {
		b.Fatal(err)
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v}
	b.SetBytes(size)
	for b.Loop() {
		for _, rec := range recs {
			out, _, err := enc.Encode(rec)
			if err != nil {
				b.Fatal(err)
			}
			out.Release()
		}
	}
}
