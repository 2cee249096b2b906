package pipeline_test

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var update = flag.Bool("update", false, "rewrite the binary fixtures in testdata")

// writeArrowFixtures writes three examples (words: large_list<large_utf8>,
// class: int32) as Parquet, Arrow IPC file and Arrow IPC stream, in two record
// batches, and returns the paths by format name.
func writeArrowFixtures(t *testing.T, dir string) map[string]string {
	t.Helper()
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "id", Type: arrow.PrimitiveTypes.Int64},
		{Name: "words", Type: arrow.LargeListOf(arrow.BinaryTypes.LargeString)},
		{Name: "class", Type: arrow.PrimitiveTypes.Int32},
	}, nil)
	batch := func(words [][]string, classes []int32) arrow.RecordBatch {
		b := array.NewRecordBuilder(mem, schema)
		defer b.Release()
		lb := b.Field(1).(*array.LargeListBuilder)
		for i, ws := range words {
			b.Field(0).(*array.Int64Builder).Append(int64(i))
			lb.Append(true)
			for _, w := range ws {
				lb.ValueBuilder().(*array.LargeStringBuilder).Append(w)
			}
			b.Field(2).(*array.Int32Builder).Append(classes[i])
		}
		return b.NewRecordBatch()
	}
	recs := []arrow.RecordBatch{batch([][]string{{"a", "b"}, {"c"}}, []int32{7, -1}), batch([][]string{{}}, []int32{0})}
	defer func() {
		for _, r := range recs {
			r.Release()
		}
	}()
	paths := map[string]string{
		"parquet": filepath.Join(dir, "small.parquet"),
		"arrow":   filepath.Join(dir, "small.arrow"),
		"arrows":  filepath.Join(dir, "small.arrows"),
	}
	create := func(p string) *os.File {
		f, err := os.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	f := create(paths["parquet"])
	pw, err := pqarrow.NewFileWriter(schema, f, nil, pqarrow.DefaultWriterProps())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := pw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}
	f = create(paths["arrow"])
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := fw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	f = create(paths["arrows"])
	sw := ipc.NewWriter(f, ipc.WithSchema(schema))
	for _, r := range recs {
		if err := sw.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return paths
}
