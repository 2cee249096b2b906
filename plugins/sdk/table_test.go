package sdk

import (
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// TestRowsAndPairs: ids become rows, edges name them by id, and a repeated
// id or an edge to an unknown one is an error naming the row.
func TestRowsAndPairs(t *testing.T) {
	rows, err := Rows([]int64{70, 10, 35})
	if err != nil || rows[70] != 0 || rows[10] != 1 || rows[35] != 2 {
		t.Fatalf("%v %v", rows, err)
	}
	a, b, err := Pairs(rows, []int64{10, 35}, []int64{70, 10})
	if err != nil || a[0] != 1 || b[0] != 0 || a[1] != 2 || b[1] != 1 {
		t.Fatalf("%v %v %v", a, b, err)
	}
	if _, err := Rows([]int64{1, 2, 1}); err == nil || !strings.Contains(err.Error(), "id 1 is on rows 1 and 3") {
		t.Errorf("a repeated id: %v", err)
	}
	if _, _, err := Pairs(rows, []int64{10, 11}, []int64{70, 70}); err == nil || !strings.Contains(err.Error(), "row 2 names id 11") {
		t.Errorf("an unknown id: %v", err)
	}
}

// TestColumns reads a record's columns by name and type, and refuses a
// column of another type or with missing values.
func TestColumns(t *testing.T) {
	mem := memory.DefaultAllocator
	ib := array.NewInt64Builder(mem)
	ib.AppendValues([]int64{4, 5}, nil)
	sb := array.NewStringBuilder(mem)
	sb.Append("train")
	sb.AppendNull()
	lb := array.NewListBuilder(mem, arrow.PrimitiveTypes.Int64)
	vb := lb.ValueBuilder().(*array.Int64Builder)
	lb.Append(true)
	vb.AppendValues([]int64{1, 2, 3}, nil)
	lb.Append(true)
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "split", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "features", Type: arrow.ListOf(arrow.PrimitiveTypes.Int64)}}, nil)
	rec := array.NewRecordBatch(schema, []arrow.Array{ib.NewArray(), sb.NewArray(), lb.NewArray()}, 2)
	defer rec.Release()
	if ids, err := Int64s(rec, "id"); err != nil || ids[1] != 5 {
		t.Errorf("ids %v %v", ids, err)
	}
	if f, err := Int64Lists(rec, "features"); err != nil || len(f[0]) != 3 || f[0][2] != 3 || len(f[1]) != 0 {
		t.Errorf("features %v %v", f, err)
	}
	if _, err := Strings(rec, "split"); err == nil || !strings.Contains(err.Error(), "missing values") {
		t.Errorf("a column with a null: %v", err)
	}
	if _, err := Int64s(rec, "features"); err == nil || !strings.Contains(err.Error(), "want int64") {
		t.Errorf("a list read as int64: %v", err)
	}
	if _, err := Int64s(rec, "label"); err == nil || !strings.Contains(err.Error(), "no column label") {
		t.Errorf("a missing column: %v", err)
	}
}
