package pipeline_test

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/seqkit/seqkit/pipeline"
)

func datasetRows(d *pipeline.Dataset) []encRow {
	var rows []encRow
	for _, rec := range d.Records() {
		rows = append(rows, encodedRows(rec)...)
	}
	return rows
}

func TestCache(t *testing.T) {
	dir := t.TempDir()
	srcPath := filepath.Join(dir, "train.tsv")
	writeFile(t, srcPath, "text\tlabel\nArrive Taipei\tin\nLeave Taipei\tout\n")
	src := pipeline.Source{Path: srcPath, Columns: pipeline.Columns{Text: "text", Label: "label"}}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{})
	if err != nil {
		t.Fatal(err)
	}
	cache := pipeline.Cache{Dir: filepath.Join(dir, "cache")}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v}
	prepare := func(enc *pipeline.Encoder) ([]encRow, pipeline.Report) {
		t.Helper()
		d, rep, err := cache.Prepare(src, enc, 2)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		return datasetRows(d), rep
	}
	first, rep := prepare(enc)
	if rep.Cached || rep.Rows != 2 || len(first) != 2 {
		t.Fatalf("first run: cached %v, report %+v, %d rows", rep.Cached, rep, len(first))
	}
	again, rep := prepare(enc)
	if !rep.Cached || rep.Rows != 2 || !reflect.DeepEqual(first, again) {
		t.Fatalf("second run: cached %v, report %+v; rows equal %v", rep.Cached, rep, reflect.DeepEqual(first, again))
	}
	// A different setting rebuilds.
	lower, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{Lower: true})
	if _, rep = prepare(&pipeline.Encoder{Tokenizer: lower, Vocabs: v}); rep.Cached {
		t.Fatal("a changed tokenizer used the old cache")
	}
	// A lower token limit is not answered from a cache built without it.
	if _, _, err := cache.Prepare(src, &pipeline.Encoder{Tokenizer: tok, Vocabs: v, MaxTokens: 1}, 2); err == nil || !strings.Contains(err.Error(), "more than the limit of 1") {
		t.Fatalf("max_tokens 1 over a cache built without a limit: %v", err)
	}
	// A changed source rebuilds, and the new rows are read.
	writeFile(t, srcPath, "text\tlabel\nArrive Taipei\tin\nLeave Taipei\tout\nStay\tin\n")
	if rows, rep := prepare(enc); rep.Cached || len(rows) != 3 {
		t.Fatalf("changed source: cached %v, %d rows", rep.Cached, len(rows))
	}
	// A corrupt cache file is rebuilt, not trusted.
	files, _ := filepath.Glob(filepath.Join(cache.Dir, "*.arrow"))
	for _, f := range files {
		writeFile(t, f, "garbage")
	}
	if rows, rep := prepare(enc); rep.Cached || len(rows) != 3 {
		t.Fatalf("corrupt cache: cached %v, %d rows", rep.Cached, len(rows))
	}
	if tmp, _ := filepath.Glob(filepath.Join(cache.Dir, ".*tmp*")); len(tmp) > 0 {
		t.Fatalf("temporary files left: %v", tmp)
	}
	// What a killed build left is deleted once it is a day old; a younger one
	// may be another process's build in progress.
	old, young := filepath.Join(cache.Dir, ".k1.arrow.tmp123"), filepath.Join(cache.Dir, ".k2.arrow.tmp456")
	writeFile(t, old, "partial")
	writeFile(t, young, "partial")
	two := time.Now().Add(-48 * time.Hour)
	os.Chtimes(old, two, two)
	prepare(enc)
	if _, err := os.Stat(old); err == nil {
		t.Error("a temporary file two days old is still in the cache")
	}
	if _, err := os.Stat(young); err != nil {
		t.Error("a fresh temporary file (another build in progress) was deleted")
	}
}

// TestWriteDatasetAtomic: a write that fails halfway leaves no file at the path,
// and a truncated dataset file is an error, not a panic.
func TestWriteDatasetAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "d.arrow")
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, _ := pipeline.VocabsOf(pipeline.Source{Path: "testdata/lines.txt"}, tok, pipeline.VocabConfig{})
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v}
	write := func(fail bool) (pipeline.Seal, error) {
		r, _ := pipeline.Open(pipeline.Source{Path: "testdata/lines.txt"}, pipeline.WithBatchRows(1))
		defer r.Release()
		return pipeline.WriteDataset(path, enc.Schema(), func(emit func(arrow.RecordBatch) error) error {
			n := 0
			_, err := enc.EncodeAll(r, 1, func(rec arrow.RecordBatch) error {
				if n++; fail && n == 2 {
					return errors.New("crash")
				}
				return emit(rec)
			})
			return err
		})
	}
	if _, err := write(true); err == nil {
		t.Fatal("no error")
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed write left %s: %v", path, err)
	}
	seal, err := write(false)
	if err != nil {
		t.Fatal(err)
	}
	d, err := pipeline.OpenDataset(path, seal)
	if err != nil {
		t.Fatal(err)
	}
	if d.NumRows() != 2 {
		t.Fatalf("%d rows", d.NumRows())
	}
	d.Close()
	data, _ := os.ReadFile(path)
	flipped := append([]byte(nil), data...)
	flipped[len(flipped)-20] ^= 0xff // inside the footer
	writeFile(t, path, string(flipped))
	if _, err := pipeline.OpenDataset(path, seal); err == nil || !strings.Contains(err.Error(), "does not match its seal") {
		t.Errorf("changed footer: error %v", err)
	}
	for _, cut := range []int{0, 8, len(data) / 2, len(data) - 1} {
		writeFile(t, path, string(data[:cut]))
		if _, err := pipeline.OpenDataset(path, seal); err == nil || !errors.Is(err, pipeline.ErrBadInput) {
			t.Errorf("cut at %d: error %v, want ErrBadInput", cut, err)
		}
	}
}
