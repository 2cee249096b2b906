package plugins

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/pipeline"
)

// Columns of a batch on the wire: one row per sequence, in the batch's order.
// Absent parts of the batch are absent columns. PROTOCOL.md lists them too.
const (
	colRow     = "row"     // int64: the sequence's source row
	colIDs     = "ids"     // list<int32>: input ids, as many as the sequence is long
	colTags    = "tags"    // list<int32>: one tag id per input token (-1: no tag)
	colFeature = "feature" // list<int32>: one feature id per input token
	colNext    = "next"    // list<int32>: the token after each input token (streams)
	colLabel   = "label"   // int32: the label id (-1: unknown)
	colTarget  = "target"  // list<int32>: <bos> target ids <eos>
	colVector  = "vector"  // list<float32>: the sequence's vector
	colChars   = "chars"   // list<list<int32>>: the character ids of each input token
	// metaOffset is the schema metadata key of a stream batch's Offset.
	metaOffset = "seqkit.offset"
	// metaSplit is the schema metadata key of a whole-dataset task's batch:
	// the split it stands for (pipeline.Batch.Split).
	metaSplit = "seqkit.split"
)

// BatchSchema is the schema of the batches of data with vocabularies v: the
// columns EncodeBatch writes for them, without the stream offset.
func BatchSchema(v pipeline.Vocabs) *arrow.Schema {
	ints := arrow.ListOf(arrow.PrimitiveTypes.Int32)
	fields := []arrow.Field{{Name: colRow, Type: arrow.PrimitiveTypes.Int64}, {Name: colIDs, Type: ints}}
	if v.Tags != nil {
		fields = append(fields, arrow.Field{Name: colTags, Type: ints})
	}
	if v.Feature != nil {
		fields = append(fields, arrow.Field{Name: colFeature, Type: ints})
	}
	if v.Labels != nil {
		fields = append(fields, arrow.Field{Name: colLabel, Type: arrow.PrimitiveTypes.Int32})
	}
	if v.Target != nil {
		fields = append(fields, arrow.Field{Name: colTarget, Type: ints})
	}
	if v.Vector > 0 {
		fields = append(fields, arrow.Field{Name: colVector, Type: arrow.ListOf(arrow.PrimitiveTypes.Float32)})
	}
	if v.Chars != nil {
		fields = append(fields, arrow.Field{Name: colChars, Type: arrow.ListOf(ints)})
	}
	return arrow.NewSchema(fields, nil)
}

// encodeSchema writes a schema as an Arrow IPC stream with no record batch.
func encodeSchema(s *arrow.Schema) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(s))
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// EncodeBatch writes b as an Arrow IPC stream of one record batch.
func EncodeBatch(b *pipeline.Batch) ([]byte, error) {
	rec := batchRecord(b)
	defer rec.Release()
	return writeRecord(rec)
}

// timeMajorList appends each sequence's first n[j] steps of a time-major [T, B]
// slice as one list row.
func timeMajorList(mem memory.Allocator, data []int32, B int, n func(j int) int) arrow.Array {
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int32)
	defer lb.Release()
	vb := lb.ValueBuilder().(*array.Int32Builder)
	for j := range B {
		lb.Append(true)
		for t := range n(j) {
			vb.Append(data[t*B+j])
		}
	}
	return lb.NewArray()
}

func batchRecord(b *pipeline.Batch) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	B := b.B
	var fields []arrow.Field
	var cols []arrow.Array
	add := func(name string, t arrow.DataType, a arrow.Array) {
		fields = append(fields, arrow.Field{Name: name, Type: t})
		cols = append(cols, a)
	}
	ints := arrow.ListOf(arrow.PrimitiveTypes.Int32)
	rb := array.NewInt64Builder(mem)
	defer rb.Release()
	for j := range B {
		if j < len(b.Rows) {
			rb.Append(b.Rows[j])
		} else {
			rb.AppendNull()
		}
	}
	add(colRow, arrow.PrimitiveTypes.Int64, rb.NewArray())
	length := func(j int) int { return b.Lengths[j] }
	add(colIDs, ints, timeMajorList(mem, b.IDs, B, length))
	if b.Tags != nil {
		add(colTags, ints, timeMajorList(mem, b.Tags, B, length))
	}
	if b.Feature != nil {
		add(colFeature, ints, timeMajorList(mem, b.Feature, B, length))
	}
	if b.Next != nil {
		add(colNext, ints, timeMajorList(mem, b.Next, B, length))
	}
	if b.Labels != nil {
		lb := array.NewInt32Builder(mem)
		lb.AppendValues(b.Labels, nil)
		add(colLabel, arrow.PrimitiveTypes.Int32, lb.NewArray())
		lb.Release()
	}
	if b.Target != nil {
		add(colTarget, ints, timeMajorList(mem, b.Target, B, func(j int) int { return b.TargetLengths[j] }))
	}
	if b.Vector != nil {
		lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Float32)
		vb := lb.ValueBuilder().(*array.Float32Builder)
		for j := range B {
			lb.Append(true)
			vb.AppendValues(b.Vector[j*b.VectorDim:(j+1)*b.VectorDim], nil)
		}
		add(colVector, arrow.ListOf(arrow.PrimitiveTypes.Float32), lb.NewArray())
		lb.Release()
	}
	if b.Chars != nil {
		lb := array.NewListBuilder(mem, ints)
		wb := lb.ValueBuilder().(*array.ListBuilder)
		cb := wb.ValueBuilder().(*array.Int32Builder)
		for j := range B {
			lb.Append(true)
			for t := range b.Lengths[j] {
				wb.Append(true)
				cb.AppendValues(b.Chars[t*B+j], nil)
			}
		}
		add(colChars, arrow.ListOf(ints), lb.NewArray())
		lb.Release()
	}
	var keys, vals []string
	if b.Next != nil {
		keys, vals = append(keys, metaOffset), append(vals, strconv.Itoa(b.Offset))
	}
	if b.Split != "" {
		keys, vals = append(keys, metaSplit), append(vals, b.Split)
	}
	meta := arrow.NewMetadata(keys, vals)
	rec := array.NewRecordBatch(arrow.NewSchema(fields, &meta), cols, int64(B))
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// maxBatchCells bounds the padded [T, B] grid a decoded batch allocates: a
// message of a few MB could otherwise pair a long row with many empty ones.
const maxBatchCells = 1 << 27

// DecodeBatch reads a batch written by EncodeBatch. Every list is checked
// against the sequence lengths, so a malformed message is an error, not a panic.
func DecodeBatch(data []byte) (b *pipeline.Batch, err error) {
	defer func() {
		if r := recover(); r != nil { // arrow's decoder panics on some corrupt input
			b, err = nil, fmt.Errorf("plugins: batch: corrupt message: %v", r)
		}
	}()
	if err := pipeline.CheckIPC(bytes.NewReader(data), int64(len(data)), false); err != nil {
		return nil, fmt.Errorf("plugins: batch: %w", err)
	}
	r, err := ipc.NewReader(bytes.NewReader(data), pipeline.IPCReadOptions(memory.DefaultAllocator, int64(len(data)))...)
	if err != nil {
		return nil, fmt.Errorf("plugins: batch: %w", err)
	}
	defer r.Release()
	if !r.Next() {
		if err := r.Err(); err != nil {
			return nil, fmt.Errorf("plugins: batch: %w", err)
		}
		return nil, fmt.Errorf("plugins: batch: no record batch in the message")
	}
	return recordBatch(r.RecordBatch())
}

// Long on purpose: each column of a batch message is checked against the
// sequence lengths before it is laid out, in the order EncodeBatch writes them.
func recordBatch(rec arrow.RecordBatch) (*pipeline.Batch, error) {
	B := int(rec.NumRows())
	b := &pipeline.Batch{B: B, Rows: make([]int64, B), Lengths: make([]int, B)}
	col := func(name string) arrow.Array {
		if idx := rec.Schema().FieldIndices(name); len(idx) > 0 {
			return rec.Column(idx[0])
		}
		return nil
	}
	lists := func(name string) (*array.List, []int32, error) {
		a := col(name)
		if a == nil {
			return nil, nil, nil
		}
		l, ok := a.(*array.List)
		if !ok {
			return nil, nil, fmt.Errorf("plugins: batch column %s is %s, want list<int32>", name, a.DataType())
		}
		v, ok := l.ListValues().(*array.Int32)
		if !ok {
			return nil, nil, fmt.Errorf("plugins: batch column %s is %s, want list<int32>", name, a.DataType())
		}
		return l, v.Int32Values(), nil
	}
	if rows, ok := col(colRow).(*array.Int64); ok {
		copy(b.Rows, rows.Int64Values())
	}
	ids, idv, err := lists(colIDs)
	if err != nil {
		return nil, err
	}
	if ids == nil {
		return nil, fmt.Errorf("plugins: batch has no %s column", colIDs)
	}
	for j := range B {
		s, e := ids.ValueOffsets(j)
		if s < 0 || e < s || int(e) > len(idv) {
			return nil, fmt.Errorf("plugins: batch row %d: bad list offsets", j)
		}
		b.Lengths[j] = int(e - s)
		b.T = max(b.T, b.Lengths[j])
	}
	if float64(b.T)*float64(B) > maxBatchCells {
		return nil, fmt.Errorf("plugins: batch of %d rows padded to %d steps: more than %d cells", B, b.T, maxBatchCells)
	}
	// fill lays the list rows of a column out time-major, [T, B], pad elsewhere;
	// each row must hold n(j) values.
	fill := func(l *array.List, v []int32, T int, pad int32, n func(j int) int) ([]int32, error) {
		out := make([]int32, T*B)
		for i := range out {
			out[i] = pad
		}
		for j := range B {
			s, e := l.ValueOffsets(j)
			if s < 0 || e < s || int(e) > len(v) || int(e-s) != n(j) {
				return nil, fmt.Errorf("plugins: batch row %d: %d values where %d are due", j, e-s, n(j))
			}
			for t, x := range v[s:e] {
				out[t*B+j] = x
			}
		}
		return out, nil
	}
	length := func(j int) int { return b.Lengths[j] }
	if b.IDs, err = fill(ids, idv, b.T, pipeline.PadID, length); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		name string
		dst  *[]int32
		pad  int32
	}{{colTags, &b.Tags, -1}, {colFeature, &b.Feature, pipeline.PadID}, {colNext, &b.Next, -1}} {
		l, v, err := lists(c.name)
		if err != nil {
			return nil, err
		}
		if l != nil {
			if *c.dst, err = fill(l, v, b.T, c.pad, length); err != nil {
				return nil, err
			}
		}
	}
	if a := col(colLabel); a != nil {
		l, ok := a.(*array.Int32)
		if !ok {
			return nil, fmt.Errorf("plugins: batch column %s is %s, want int32", colLabel, a.DataType())
		}
		b.Labels = append([]int32(nil), l.Int32Values()...)
	}
	if l, v, err := lists(colTarget); err != nil {
		return nil, err
	} else if l != nil {
		b.TargetLengths = make([]int, B)
		for j := range B {
			s, e := l.ValueOffsets(j)
			b.TargetLengths[j] = int(e - s)
			b.TargetT = max(b.TargetT, b.TargetLengths[j])
		}
		if float64(b.TargetT)*float64(B) > maxBatchCells {
			return nil, fmt.Errorf("plugins: batch of %d rows padded to %d target steps: more than %d cells", B, b.TargetT, maxBatchCells)
		}
		if b.Target, err = fill(l, v, b.TargetT, pipeline.PadID, func(j int) int { return b.TargetLengths[j] }); err != nil {
			return nil, err
		}
	}
	if a := col(colVector); a != nil {
		l, ok := a.(*array.List)
		var v *array.Float32
		if ok {
			v, ok = l.ListValues().(*array.Float32)
		}
		if !ok {
			return nil, fmt.Errorf("plugins: batch column %s is %s, want list<float32>", colVector, a.DataType())
		}
		for j := range B {
			s, e := l.ValueOffsets(j)
			if j == 0 {
				b.VectorDim = int(e - s)
			}
			if s < 0 || int(e-s) != b.VectorDim || int(e) > v.Len() {
				return nil, fmt.Errorf("plugins: batch row %d: a vector of %d numbers, row 0 has %d", j, e-s, b.VectorDim)
			}
			b.Vector = append(b.Vector, v.Float32Values()[s:e]...)
		}
	}
	if a := col(colChars); a != nil {
		l, ok := a.(*array.List)
		var w *array.List
		var cv *array.Int32
		if ok {
			w, ok = l.ListValues().(*array.List)
		}
		if ok {
			cv, ok = w.ListValues().(*array.Int32)
		}
		if !ok {
			return nil, fmt.Errorf("plugins: batch column %s is %s, want list<list<int32>>", colChars, a.DataType())
		}
		b.Chars = make([][]int32, b.T*B)
		for j := range B {
			s, e := l.ValueOffsets(j)
			if int(e-s) != b.Lengths[j] || s < 0 || int(e) > w.Len() {
				return nil, fmt.Errorf("plugins: batch row %d: characters of %d tokens for %d", j, e-s, b.Lengths[j])
			}
			for t := range b.Lengths[j] {
				cs, ce := w.ValueOffsets(int(s) + t)
				if cs < 0 || ce < cs || int(ce) > cv.Len() {
					return nil, fmt.Errorf("plugins: batch row %d: bad character offsets", j)
				}
				b.Chars[t*B+j] = append([]int32(nil), cv.Int32Values()[cs:ce]...)
			}
		}
	}
	if v, ok := rec.Schema().Metadata().GetValue(metaOffset); ok {
		if b.Offset, err = strconv.Atoi(v); err != nil {
			return nil, fmt.Errorf("plugins: batch offset %q", v)
		}
	}
	b.Split, _ = rec.Schema().Metadata().GetValue(metaSplit)
	return b, nil
}
