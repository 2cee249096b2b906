package plugins

import (
	"bytes"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins/proto"
	pb "google.golang.org/protobuf/proto"
)

// FuzzDecodeBatch feeds arbitrary bytes as a batch message (what a plugin reads
// from the host): decoding may fail, but never panic or allocate without bound,
// and a decoded batch is consistent.
func FuzzDecodeBatch(f *testing.F) {
	for _, b := range []*pipeline.Batch{
		{Rows: []int64{7, 9}, T: 2, B: 2, IDs: []int32{4, 5, 6, 0}, Lengths: []int{2, 1}, Tags: []int32{1, 2, 3, -1}, Labels: []int32{1, 0}},
		{T: 1, B: 1, IDs: []int32{5}, Lengths: []int{1}, Next: []int32{6}, Offset: 64, Rows: []int64{0}},
	} {
		data, err := EncodeBatch(b)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := DecodeBatch(data)
		if err != nil {
			return
		}
		if len(b.IDs) != b.T*b.B || len(b.Lengths) != b.B {
			t.Fatalf("decoded batch T=%d B=%d with %d ids and %d lengths", b.T, b.B, len(b.IDs), len(b.Lengths))
		}
		for _, n := range b.Lengths {
			if n < 0 || n > b.T {
				t.Fatalf("length %d outside [0, %d]", n, b.T)
			}
		}
	})
}

// FuzzPluginMessages feeds arbitrary bytes as each answer a plugin sends the
// host: the protobuf messages, and the Arrow record batch of a prediction. The
// host may refuse them, never panic; an accepted prediction can be read whole.
func FuzzPluginMessages(f *testing.F) {
	var buf bytes.Buffer
	mem := memory.NewGoAllocator()
	sb := array.NewStringBuilder(mem)
	sb.AppendValues([]string{"B-x", "O"}, nil)
	lb := array.NewListBuilder(mem, arrow.BinaryTypes.String)
	lb.Append(true)
	lb.ValueBuilder().(*array.StringBuilder).AppendValues([]string{"a", "b"}, nil)
	lb.Append(true)
	col1, col2 := sb.NewArray(), lb.NewArray()
	rec := array.NewRecordBatch(arrow.NewSchema([]arrow.Field{{Name: "label", Type: arrow.BinaryTypes.String}, {Name: "tags", Type: arrow.ListOf(arrow.BinaryTypes.String)}}, nil), []arrow.Array{col1, col2}, 2)
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		f.Fatal(err)
	}
	w.Close()
	f.Add(buf.Bytes())
	for _, m := range []pb.Message{
		&proto.Description{Name: "x", Version: "1", Options: []*proto.Option{{Name: "k", Type: "int", Doc: "d"}}},
		&proto.ConfigureResponse{Errors: []*proto.KeyError{{Key: "task.x", Message: "bad"}}},
		&proto.TrainStepResponse{Loss: 1.5, Tokens: 3},
		&proto.EvaluateResponse{Metrics: map[string]float64{"f1": 0.5}},
	} {
		b, _ := pb.Marshal(m)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if rec, err := decodeRecord(data, 2); err == nil {
			for i, col := range rec.Columns() {
				for j := range col.Len() {
					_ = col.ValueStr(j)
				}
				if _, err := col.MarshalJSON(); err != nil {
					t.Logf("column %d: %v", i, err)
				}
			}
			rec.Release()
		}
		for _, m := range []pb.Message{&proto.Description{}, &proto.ConfigureResponse{}, &proto.TrainStepResponse{}, &proto.EvaluateResponse{}, &proto.PredictResponse{}} {
			pb.Unmarshal(data, m) // what the gRPC client does with an answer

		}
	})
}

// FuzzReadLock reads arbitrary bytes as a plugin folder's lock file: it loads
// or fails naming the file and line; every pin it returns is a sha256.
func FuzzReadLock(f *testing.F) {
	f.Add([]byte("# seqkit plugins lock\nforecast " + strings.Repeat("ab", 32) + "\n"))
	f.Add([]byte("a b c\n"))
	f.Add([]byte("x 12\n\n#\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, LockFile), data, 0o644); err != nil {
			t.Fatal(err)
		}
		pins, err := ReadLock(dir)
		if err != nil {
			if !strings.Contains(err.Error(), LockFile+":") {
				t.Fatalf("error %q names no line of the file", err)
			}
			return
		}
		for name, sum := range pins {
			if b, err := hex.DecodeString(sum); err != nil || len(b) != 32 || strings.ToLower(sum) != sum {
				t.Fatalf("pin %q for %q is not a lower-case sha256", sum, name)
			}
		}
	})
}
