package plugins

import (
	"bytes"
	"reflect"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"

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
}
