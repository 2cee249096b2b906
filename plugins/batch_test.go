package plugins

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/pipeline"
)

// TestBatchRoundTrip: a batch with every part survives the wire format, and
// the schema sent at Configure is the batches' own.
func TestBatchRoundTrip(t *testing.T) {
	b := &pipeline.Batch{
		Rows: []int64{7, 9}, T: 3, B: 2,
		IDs: []int32{4, 5, 6, 7, 8, 0}, Lengths: []int{3, 2},
		Tags:   []int32{1, 2, 3, 4, 5, -1},
		Labels: []int32{1, -1},
		Target: []int32{2, 2, 9, 3, 3, 0}, TargetT: 3, TargetLengths: []int{3, 2},
		Chars:   [][]int32{{1}, {2, 3}, {4}, {5, 6}, {7}, nil},
		Feature: []int32{4, 4, 5, 5, 6, 0},
		Vector:  []float32{0.5, -1, 2, 3}, VectorDim: 2,
	}
	data, err := EncodeBatch(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := DecodeBatch(data)
	if err != nil {
		t.Fatal(err)
	}
	got.Chars[5] = nil // padding holds no characters either way
	if !reflect.DeepEqual(got, b) {
		t.Fatalf("round trip:\n got %+v\nwant %+v", got, b)
	}
	v := pipeline.Vocabs{Tags: &pipeline.Vocab{}, Labels: &pipeline.Vocab{}, Target: &pipeline.Vocab{}, Chars: &pipeline.Vocab{}, Feature: &pipeline.Vocab{}, Vector: 2}
	r, err := ipc.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	want := BatchSchema(v)
	if r.Schema().NumFields() != want.NumFields() {
		t.Fatalf("batch schema %v, BatchSchema %v", r.Schema(), want)
	}
	for _, f := range want.Fields() {
		idx := r.Schema().FieldIndices(f.Name)
		if len(idx) != 1 || !reflect.DeepEqual(r.Schema().Field(idx[0]).Type, f.Type) {
			t.Errorf("field %s: batch has %v", f.Name, idx)
		}
	}
	// Stream batches keep their offset; a truncated message is an error.
	b2 := &pipeline.Batch{T: 1, B: 1, IDs: []int32{5}, Lengths: []int{1}, Next: []int32{6}, Offset: 64, Rows: []int64{0}}
	data, _ = EncodeBatch(b2)
	if got, err := DecodeBatch(data); err != nil || got.Offset != 64 || got.Next[0] != 6 {
		t.Errorf("stream batch: %+v %v", got, err)
	}
	if _, err := DecodeBatch(data[:len(data)/2]); err == nil {
		t.Error("a truncated batch decoded")
	}
	// A whole-dataset batch has no rows and names its split.
	data, _ = EncodeBatch(&pipeline.Batch{Split: "dev"})
	if got, err := DecodeBatch(data); err != nil || got.Split != "dev" || got.B != 0 {
		t.Errorf("whole-dataset batch: %+v %v", got, err)
	}
}

// TestBatchCells: a message of a few MB that pairs one long row with many
// empty ones would decode into a padded grid far larger than itself; it is
// refused.
func TestBatchCells(t *testing.T) {
	const B, T = 70_000, 2_000 // 1.4e8 cells from a message of 0.3 MB
	mem := memory.DefaultAllocator
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
	vb := lb.ValueBuilder().(*array.Int32Builder)
	rb := array.NewInt64Builder(mem)
	for j := range B {
		lb.Append(true)
		rb.Append(int64(j))
		if j == 0 {
			for range T {
				vb.Append(5)
			}
		}
	}
	ids, rows := lb.NewArray(), rb.NewArray()
	schema := arrow.NewSchema([]arrow.Field{{Name: colRow, Type: arrow.PrimitiveTypes.Int64}, {Name: colIDs, Type: arrow.ListOf(arrow.PrimitiveTypes.Int32)}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{rows, ids}, B)
	data, err := writeRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeBatch(data); err == nil || !strings.Contains(err.Error(), "padded to 2000 steps: more than 134217728 cells") {
		t.Errorf("decoding %d bytes: %v", len(data), err)
	}
}
