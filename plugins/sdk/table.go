package sdk

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// A task that declares tables (tasks.Info.Tables) gets each in Init as one
// Arrow record batch of the declared columns (tasks.Setup.Table). These
// helpers read its columns and turn keys into row numbers: a graph's nodes are
// the rows of its node table, and its edges name them by their id column.

// Int64s returns the int64 column name of rec.
func Int64s(rec arrow.RecordBatch, name string) ([]int64, error) {
	a, err := column[*array.Int64](rec, name, "int64")
	if err != nil {
		return nil, err
	}
	return a.Int64Values(), nil
}

// Strings returns the string column name of rec.
func Strings(rec arrow.RecordBatch, name string) ([]string, error) {
	a, err := column[*array.String](rec, name, "string")
	if err != nil {
		return nil, err
	}
	out := make([]string, a.Len())
	for i := range out {
		out[i] = a.Value(i)
	}
	return out, nil
}

// Int64Lists returns the list<int64> column name of rec as each row's
// values, which share one slice.
func Int64Lists(rec arrow.RecordBatch, name string) ([][]int64, error) {
	a, err := column[*array.List](rec, name, "list<int64>")
	if err != nil {
		return nil, err
	}
	vals, ok := a.ListValues().(*array.Int64)
	if !ok {
		return nil, fmt.Errorf("sdk: column %s is %s, want list<int64>", name, a.DataType())
	}
	all := vals.Int64Values()
	out := make([][]int64, a.Len())
	for i := range out {
		s, e := a.ValueOffsets(i)
		out[i] = all[s:e:e]
	}
	return out, nil
}

func column[A arrow.Array](rec arrow.RecordBatch, name, want string) (A, error) {
	var zero A
	idx := rec.Schema().FieldIndices(name)
	if len(idx) == 0 {
		return zero, fmt.Errorf("sdk: no column %s", name)
	}
	a, ok := rec.Column(idx[0]).(A)
	if !ok {
		return zero, fmt.Errorf("sdk: column %s is %s, want %s", name, rec.Column(idx[0]).DataType(), want)
	}
	if a.NullN() > 0 {
		return zero, fmt.Errorf("sdk: column %s has missing values", name)
	}
	return a, nil
}

// Rows maps each key of a table's id column to its row: the row numbers a
// task indexes its arrays by, whatever ids the file uses. A repeated key is
// an error naming both rows (1-based, as the file's data lines).
func Rows(ids []int64) (map[int64]int32, error) {
	if len(ids) > 1<<31-1 {
		return nil, fmt.Errorf("sdk: %d rows, more than int32 indexes", len(ids))
	}
	rows := make(map[int64]int32, len(ids))
	for i, id := range ids {
		if j, ok := rows[id]; ok {
			return nil, fmt.Errorf("sdk: id %d is on rows %d and %d", id, j+1, i+1)
		}
		rows[id] = int32(i)
	}
	return rows, nil
}

// Pairs maps two id columns (an edge's two ends) to the rows rows gives
// them; an id that is not a key of rows is an error naming its row.
func Pairs(rows map[int64]int32, a, b []int64) (ra, rb []int32, err error) {
	if len(a) != len(b) {
		return nil, nil, fmt.Errorf("sdk: %d and %d ends", len(a), len(b))
	}
	ra, rb = make([]int32, len(a)), make([]int32, len(b))
	for i := range a {
		var ok1, ok2 bool
		ra[i], ok1 = rows[a[i]]
		rb[i], ok2 = rows[b[i]]
		switch {
		case !ok1:
			return nil, nil, fmt.Errorf("sdk: row %d names id %d, which no row has", i+1, a[i])
		case !ok2:
			return nil, nil, fmt.Errorf("sdk: row %d names id %d, which no row has", i+1, b[i])
		}
	}
	return ra, rb, nil
}
