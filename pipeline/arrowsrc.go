package pipeline

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// arrowSource reads Parquet files and Arrow IPC files and streams through their
// record batches, mapping fields by name. Strings may be utf8 or large_utf8, lists
// list or large_list of either; a label may also be an integer or boolean column.
type arrowSource struct {
	path  string
	f     *os.File
	rr    array.RecordReader
	roles []Role
	index [numRoles]int
	rec   arrow.RecordBatch
	i     int // next row in rec
	row   int // rows read so far
	// broken is set after a read that failed for good (arrow's decoder panics
	// on some corrupt input): the source then ends.
	broken bool
}

func openArrow(path string, format Format, cols Columns, mem memory.Allocator) (src *arrowSource, err error) {
	f, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			f.Close()
		}
	}()
	s := &arrowSource{path: path, f: f, roles: cols.roles()}
	defer catch(&err, path, 0)
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	sizes := IPCReadOptions(mem, st.Size())
	mem = boundedAlloc{mem}
	switch format {
	case Parquet:
		pf, err := file.NewParquetReader(f)
		if err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
		}
		fr, err := pqarrow.NewFileReader(pf, pqarrow.ArrowReadProperties{BatchSize: DefaultBatchRows}, mem)
		if err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable Parquet file: %w", err)}
		}
		if s.rr, err = fr.GetRecordReader(context.Background(), nil, nil); err != nil {
			return nil, &Error{Path: path, Err: err}
		}
	case ArrowFile:
		if err := CheckIPC(f, st.Size(), true); err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable Arrow IPC file: %w", err)}
		}
		fr, err := ipc.NewFileReader(f, sizes...)
		if err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable Arrow IPC file: %w", err)}
		}
		s.rr = &ipcFileRecords{fr: fr}
	case ArrowStream:
		if err := CheckIPC(f, st.Size(), false); err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable Arrow IPC stream: %w", err)}
		}
		r, err := ipc.NewReader(f, sizes...)
		if err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable Arrow IPC stream: %w", err)}
		}
		s.rr = r
	}
	schema := s.rr.Schema()
	var names []string
	for _, fl := range schema.Fields() {
		names = append(names, fl.Name)
	}
	for _, role := range s.roles {
		idx := schema.FieldIndices(cols.get(role))
		if len(idx) == 0 {
			s.rr.Release()
			return nil, &Error{Path: path, Err: fmt.Errorf("no field %q for %s; the schema has %s", cols.get(role), role, quoteList(names))}
		}
		s.index[role] = idx[0]
		if err := checkType(schema.Field(idx[0]).Type, role); err != nil {
			s.rr.Release()
			return nil, &Error{Path: path, Err: fmt.Errorf("field %q: %w", cols.get(role), err)}
		}
	}
	return s, nil
}

func checkType(t arrow.DataType, role Role) error {
	if role.isList() {
		ok := isString
		if role == RoleVector {
			ok = func(t arrow.DataType) bool { return isString(t) || arrow.IsFloating(t.ID()) || arrow.IsInteger(t.ID()) }
		}
		switch lt := t.(type) {
		case *arrow.ListType:
			if ok(lt.Elem()) {
				return nil
			}
		case *arrow.LargeListType:
			if ok(lt.Elem()) {
				return nil
			}
		case *arrow.FixedSizeListType:
			if ok(lt.Elem()) {
				return nil
			}
		}
		if isString(t) {
			return nil // split on white space
		}
		if role == RoleVector {
			return fmt.Errorf("type %s cannot hold %s: want a list of numbers or a string", t, role)
		}
		return fmt.Errorf("type %s cannot hold %s: want a list of strings or a string", t, role)
	}
	if isString(t) || (role == RoleLabel && (arrow.IsInteger(t.ID()) || t.ID() == arrow.BOOL)) {
		return nil
	}
	return fmt.Errorf("type %s cannot hold %s: want a string", t, role)
}

func isString(t arrow.DataType) bool {
	return t.ID() == arrow.STRING || t.ID() == arrow.LARGE_STRING
}

func (s *arrowSource) next(ex *example) (err error) {
	if s.broken {
		return io.EOF
	}
	defer func() {
		if r := recover(); r != nil {
			s.broken = true
			err = &Error{Path: s.path, Row: s.row + 1, Err: fmt.Errorf("corrupt file: %v", r)}
		}
	}()
	for s.rec == nil || s.i >= int(s.rec.NumRows()) {
		if !s.rr.Next() {
			if err := s.rr.Err(); err != nil && err != io.EOF {
				s.broken = true
				return &Error{Path: s.path, Row: s.row + 1, Err: fmt.Errorf("reading: %w", err)}
			}
			return io.EOF
		}
		s.rec, s.i = s.rr.RecordBatch(), 0
	}
	s.row++
	ex.line = s.row
	for _, role := range s.roles {
		col := s.rec.Column(s.index[role])
		if col.IsNull(s.i) {
			return &Error{Path: s.path, Row: s.row, Err: fmt.Errorf("%s is null", role)}
		}
		if role.isList() {
			ex.list[role] = listAt(col, s.i, role)
		} else {
			ex.str[role] = scalarAt(col, s.i)
		}
	}
	s.i++
	return nil
}

func listAt(col arrow.Array, i int, role Role) []string {
	switch c := col.(type) {
	case array.ListLike:
		start, end := c.ValueOffsets(i)
		vals := c.ListValues()
		out := make([]string, 0, end-start)
		for j := start; j < end; j++ {
			out = append(out, scalarAt(vals, int(j)))
		}
		return out
	}
	return fields(role, scalarAt(col, i))
}

func scalarAt(col arrow.Array, i int) string {
	switch c := col.(type) {
	case *array.String:
		return c.Value(i)
	case *array.LargeString:
		return c.Value(i)
	case *array.Boolean:
		return strconv.FormatBool(c.Value(i))
	}
	return col.ValueStr(i)
}

func (s *arrowSource) close() error {
	s.rr.Release()
	return s.f.Close()
}

// ipcFileRecords iterates an IPC file's record batches as an array.RecordReader.
type ipcFileRecords struct {
	fr  *ipc.FileReader
	i   int
	cur arrow.RecordBatch
	err error
}

func (r *ipcFileRecords) Retain()               {}
func (r *ipcFileRecords) Schema() *arrow.Schema { return r.fr.Schema() }
func (r *ipcFileRecords) Err() error            { return r.err }

func (r *ipcFileRecords) Next() bool {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	if r.i >= r.fr.NumRecords() {
		return false
	}
	rec, err := r.fr.RecordBatch(r.i)
	if err != nil {
		r.err = err
		return false
	}
	rec.Retain()
	r.cur = rec
	r.i++
	return true
}

func (r *ipcFileRecords) RecordBatch() arrow.RecordBatch { return r.cur }
func (r *ipcFileRecords) Record() arrow.RecordBatch      { return r.cur }

func (r *ipcFileRecords) Release() {
	if r.cur != nil {
		r.cur.Release()
		r.cur = nil
	}
	r.fr.Close()
}

// maxArrowBuffer bounds one buffer that arrow allocates while decoding a file. A
// compressed buffer states its decompressed size, and arrow allocates that before
// it decompresses: a hostile file could ask for a terabyte. A record batch of
// real data needs far less.
const maxArrowBuffer = 1 << 30

// boundedAlloc refuses allocations over maxArrowBuffer with a panic, which
// [catch] turns into an error.
type boundedAlloc struct{ memory.Allocator }

type errTooLarge int

func (n errTooLarge) Error() string {
	return fmt.Sprintf("the file asks for a buffer of %d bytes, more than the limit of %d", int(n), maxArrowBuffer)
}

func (b boundedAlloc) Allocate(n int) []byte {
	if n > maxArrowBuffer {
		panic(errTooLarge(n))
	}
	return b.Allocator.Allocate(n)
}

func (b boundedAlloc) Reallocate(n int, old []byte) []byte {
	if n > maxArrowBuffer {
		panic(errTooLarge(n))
	}
	return b.Allocator.Reallocate(n, old)
}

// IPCReadOptions are the options of an arrow IPC reader of size bytes of
// untrusted data: no message can be longer than the data, and no buffer longer
// than 1 GiB (arrow panics when one is asked for; recover it).
func IPCReadOptions(mem memory.Allocator, size int64) []ipc.Option {
	return []ipc.Option{ipc.WithAllocator(boundedAlloc{mem}), ipc.WithBodySizeLimit(size), ipc.WithMetadataSizeLimit(size)}
}

// catch turns a panic of arrow's decoder (it panics on some corrupt input) into
// an error at row of path.
func catch(err *error, path string, row int) {
	if r := recover(); r != nil {
		*err = &Error{Path: path, Row: row, Err: fmt.Errorf("corrupt file: %v", r)}
	}
}
