package pipeline_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/seqkit/seqkit/pipeline"
)

// streamBound is the heap the read-encode-cache path may use on top of what it
// started with, whatever the file size: one record batch per stage in flight
// (reader, 2·workers encoding, writer), each of DefaultBatchRows examples.
const streamBound = 16 << 20

// TestStreamingBoundedMemory reads, encodes and caches a JSON Lines file of 96 MB,
// six times the bound, and samples the Go heap throughout: its peak
// growth must stay under streamBound.
func TestStreamingBoundedMemory(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("writes and reads a 96 MB file; the race detector would distort the heap figures")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "big.jsonl")
	size := writeJSONL(t, path, 96<<20)
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	// A fixed small vocabulary: building one would be a second full pass.
	c := pipeline.Counter{}
	for i := 0; i < 1000; i++ {
		c.Add(fmt.Sprintf("w%d", i))
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: pipeline.Vocabs{Input: c.Build(pipeline.VocabConfig{}), Labels: pipeline.Counter{"a": 1, "b": 1}.BuildLabels()}}

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var m runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&m)
			if m.HeapAlloc > peak.Load() {
				peak.Store(m.HeapAlloc)
			}
		}
	}()
	d, rep, err := pipeline.Cache{Dir: filepath.Join(dir, "cache")}.Prepare(pipeline.Source{Path: path, Columns: pipeline.Columns{Text: "text", Label: "label"}}, enc, 2)
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	growth := int64(peak.Load()) - int64(base.HeapAlloc)
	t.Logf("file %d MB, %d rows; peak heap growth %.1f MB (bound %d MB)", size>>20, rep.Rows, float64(growth)/(1<<20), streamBound>>20)
	if growth > streamBound {
		t.Fatalf("peak heap grew by %.1f MB reading a %d MB file; the bound is %d MB", float64(growth)/(1<<20), size>>20, streamBound>>20)
	}
	if d.NumRows() != int(rep.Rows) || rep.Rows == 0 {
		t.Fatalf("dataset has %d rows, report %d", d.NumRows(), rep.Rows)
	}
}

// writeJSONL writes about size bytes of {"text": ..., "label": ...} lines.
func writeJSONL(t testing.TB, path string, size int64) int64 {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	var n int64
	for i := 0; n < size; i++ {
		k, _ := fmt.Fprintf(w, `{"text": "w%d w%d w%d w%d w%d w%d w%d w%d w%d w%d w%d w%d", "label": "%c"}`+"\n",
			i%1000, (i*7)%1000, (i*13)%1000, (i*17)%1000, (i*19)%1000, (i*23)%1000, (i*29)%1000, (i*31)%1000, (i*37)%1000, (i*41)%1000, (i*43)%1500, (i*47)%1000, 'a'+rune(i%2))
		n += int64(k)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return n
}
