package pipeline_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/seqkit/seqkit/pipeline"
)

// compress writes text to path, gzip or zstd compressed by its extension.
func compress(t *testing.T, path, text string) {
	t.Helper()
	var buf bytes.Buffer
	switch filepath.Ext(path) {
	case ".gz":
		z := gzip.NewWriter(&buf)
		z.Write([]byte(text))
		z.Close()
	case ".zst":
		z, err := zstd.NewWriter(&buf)
		if err != nil {
			t.Fatal(err)
		}
		z.Write([]byte(text))
		z.Close()
	default:
		buf.WriteString(text)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// shardedJSONL writes n rows of JSON Lines over three shards, plain, gzip and
// zstd, and the same rows as one plain file; it returns the folder of shards
// and the single file.
func shardedJSONL(t *testing.T, n int) (dir, single string) {
	t.Helper()
	root := t.TempDir()
	dir = filepath.Join(root, "shards")
	os.Mkdir(dir, 0o755)
	var all strings.Builder
	names := []string{"part-0.jsonl", "part-1.jsonl.gz", "part-2.jsonl.zst"}
	var parts [3]strings.Builder
	for i := 0; i < n; i++ {
		line := fmt.Sprintf("{\"text\": \"w%d x%d\", \"label\": \"l%d\"}\n", i, i%7, i%3)
		all.WriteString(line)
		parts[i*3/n].WriteString(line)
	}
	for i, name := range names {
		compress(t, filepath.Join(dir, name), "\ufeff"+parts[i].String())
	}
	os.WriteFile(filepath.Join(dir, "_SUCCESS"), nil, 0o644)
	os.WriteFile(filepath.Join(dir, ".part-3.jsonl.crc"), []byte("x"), 0o644)
	single = filepath.Join(root, "all.jsonl")
	os.WriteFile(single, []byte(all.String()), 0o644)
	return dir, single
}

func TestShards(t *testing.T) {
	dir, single := shardedJSONL(t, 30)
	cols := pipeline.Columns{Text: "text", Label: "label"}
	want, err := readAll(t, pipeline.Source{Path: single, Columns: cols})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []pipeline.Source{
		{Path: dir, Columns: cols},
		{Path: filepath.Join(dir, "part-*"), Columns: cols},
		{Paths: []string{filepath.Join(dir, "part-0.jsonl"), filepath.Join(dir, "part-[12]*")}, Columns: cols},
	} {
		if !src.Sharded() {
			t.Fatalf("%+v: not sharded", src)
		}
		got, err := readAll(t, src)
		if err != nil {
			t.Fatalf("%+v: %v", src, err)
		}
		if len(got) != len(want) {
			t.Fatalf("%+v: %d rows, want %d", src, len(got), len(want))
		}
		seen := map[[2]int]bool{}
		for i := range got {
			key := [2]int{got[i]["shard"].(int), got[i]["row"].(int)}
			if seen[key] {
				t.Fatalf("order key %v twice", key)
			}
			seen[key] = true
			if got[i]["text"] != want[i]["text"] || got[i]["label"] != want[i]["label"] {
				t.Fatalf("row %d: %v, want %v", i, got[i], want[i])
			}
			if got[i]["shard"].(int) != i*3/30 {
				t.Fatalf("row %d has shard %v, want %d", i, got[i]["shard"], i*3/30)
			}
		}
	}
	// One compressed file alone is not sharded: no shard column.
	rows, err := readAll(t, pipeline.Source{Path: filepath.Join(dir, "part-1.jsonl.gz"), Columns: cols})
	if err != nil || len(rows) != 10 || rows[0]["text"] != "w10 x3" || rows[0]["shard"] != nil {
		t.Fatalf("gzip file: %v %v", rows, err)
	}
}

func TestShardErrors(t *testing.T) {
	dir, _ := shardedJSONL(t, 9)
	cols := pipeline.Columns{Text: "text", Label: "label"}
	bad := filepath.Join(t.TempDir(), "bad.jsonl.gz")
	os.WriteFile(bad, []byte("{\"text\": \"not gzip\"}\n"), 0o644)
	cut := filepath.Join(t.TempDir(), "cut.jsonl.gz")
	var buf bytes.Buffer
	z := gzip.NewWriter(&buf)
	z.Write(bytes.Repeat([]byte("{\"text\": \"a\", \"label\": \"b\"}\n"), 1000))
	z.Close()
	os.WriteFile(cut, buf.Bytes()[:buf.Len()/2], 0o644)
	pq := filepath.Join(t.TempDir(), "x.parquet.gz")
	os.WriteFile(pq, []byte("x"), 0o644)
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "_SUCCESS"), nil, 0o644)
	mixed := t.TempDir()
	os.WriteFile(filepath.Join(mixed, "a.jsonl"), []byte("{}\n"), 0o644)
	os.WriteFile(filepath.Join(mixed, "b.csv"), []byte("text\n"), 0o644)
	for _, c := range []struct {
		src  pipeline.Source
		want string
	}{
		{pipeline.Source{Path: filepath.Join(dir, "nothing-*.jsonl"), Columns: cols}, "matches no file"},
		{pipeline.Source{Path: empty, Columns: cols, Format: pipeline.JSONL}, "holds no data file"},
		{pipeline.Source{Paths: []string{dir, filepath.Join(dir, "part-0.jsonl")}, Columns: cols}, "named twice"},
		{pipeline.Source{Path: mixed, Columns: cols}, "differ in format"},
		{pipeline.Source{Path: filepath.Join(dir, "[x"), Columns: cols}, "not a valid pattern"},
		{pipeline.Source{Path: bad, Columns: cols}, bad + ": not a readable gzip file"},
		{pipeline.Source{Path: cut, Columns: cols}, cut + ": cannot decompress"},
		{pipeline.Source{Path: pq, Columns: cols}, "read uncompressed"},
		{pipeline.Source{Paths: []string{filepath.Join(dir, "part-0.jsonl"), filepath.Join(dir, "gone.jsonl")}, Columns: cols}, "gone.jsonl"},
	} {
		_, err := readAll(t, c.src)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: got %v, want an error with %q", c.src, err, c.want)
		}
	}
	// A shard that cannot be read is not a bad example to skip.
	var rejects bytes.Buffer
	_, err := readAll(t, pipeline.Source{Paths: []string{filepath.Join(dir, "part-0.jsonl"), cut}, Columns: cols}, pipeline.WithSkipErrors(&rejects))
	if err == nil || !errors.Is(err, pipeline.ErrBadInput) {
		t.Fatalf("cut shard under skip_errors: %v", err)
	}
}

// TestShardsEncoded checks that the cache encodes a sharded source with its
// shard column, and that progress counts the compressed bytes of every shard.
func TestShardsEncoded(t *testing.T) {
	dir, _ := shardedJSONL(t, 30)
	src := pipeline.Source{Path: dir, Columns: pipeline.Columns{Text: "text", Label: "label"}}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	var done, total int64
	v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{}, pipeline.WithProgress(func(d, t int64) { done, total = d, t }))
	if err != nil {
		t.Fatal(err)
	}
	if done == 0 || done != total {
		t.Errorf("progress %d of %d at the end", done, total)
	}
	if v.Input.Len() != 4+30+7 {
		t.Errorf("vocabulary of %d, want %d", v.Input.Len(), 4+30+7)
	}
	ds, rep, err := pipeline.Cache{Dir: t.TempDir()}.Prepare(src, &pipeline.Encoder{Tokenizer: tok, Vocabs: v}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	if rep.Rows != 30 || ds.NumRows() != 30 {
		t.Fatalf("%d rows", rep.Rows)
	}
	i := 0
	for _, rec := range ds.Records() {
		idx := rec.Schema().FieldIndices(pipeline.ShardField)
		if len(idx) != 1 {
			t.Fatalf("encoded schema %v has no shard column", rec.Schema())
		}
		sh := rec.Column(idx[0]).(*array.Int32)
		for j := 0; j < sh.Len(); j++ {
			if int(sh.Value(j)) != i*3/30 {
				t.Fatalf("encoded row %d: shard %d", i, sh.Value(j))
			}
			i++
		}
	}
}
