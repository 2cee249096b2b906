package pipeline

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// ColumnType is the type of a table column: what its text is parsed as.
type ColumnType string

// The column types of a table.
const (
	Int64       ColumnType = "int64"
	Float64     ColumnType = "float64"
	String      ColumnType = "string"
	Int64List   ColumnType = "list<int64>"   // numbers separated by spaces or commas, or a JSON array
	Float64List ColumnType = "list<float64>" // the same, of floats
)

// Arrow is the Arrow type a column of type c reads into.
func (c ColumnType) Arrow() (arrow.DataType, error) {
	switch c {
	case Int64:
		return arrow.PrimitiveTypes.Int64, nil
	case Float64:
		return arrow.PrimitiveTypes.Float64, nil
	case String:
		return arrow.BinaryTypes.String, nil
	case Int64List:
		return arrow.ListOf(arrow.PrimitiveTypes.Int64), nil
	case Float64List:
		return arrow.ListOf(arrow.PrimitiveTypes.Float64), nil
	}
	return nil, fmt.Errorf("pipeline: unknown column type %q (want int64, float64, string, list<int64> or list<float64>)", string(c))
}

// TableColumn is a column a consumer of a table needs: its name and type.
type TableColumn struct {
	Name string
	Type ColumnType
}

// TableSchema is the Arrow schema of cols, in their order.
func TableSchema(cols []TableColumn) (*arrow.Schema, error) {
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		t, err := c.Type.Arrow()
		if err != nil {
			return nil, fmt.Errorf("%w (column %q)", err, c.Name)
		}
		fields[i] = arrow.Field{Name: c.Name, Type: t}
	}
	return arrow.NewSchema(fields, nil), nil
}

// TableSource is a table file: a CSV or TSV file with a header row, or JSON
// Lines, possibly compressed (.gz, .zst). Rename maps a column's name as its
// reader asks for it to the file's name for it, where the two differ.
type TableSource struct {
	Path   string
	Format Format // empty: from the extension
	Rename map[string]string
}

// ReadTable reads the columns cols of a table file whole, as one record batch
// of the schema TableSchema gives, one row per line (after the header): a
// table that is not a sequence of examples, such as the edges of a graph. Other
// columns of the file are ignored. Every row must give every column; a bad
// value is an *Error at its line. Lines are bounded by lim's line length and
// lists by its tokens; the record takes memory in proportion to the file. It
// stops with ctx's cause once ctx is done.
func ReadTable(ctx context.Context, src TableSource, cols []TableColumn, lim Limits) (rec arrow.RecordBatch, err error) {
	schema, err := TableSchema(cols)
	if err != nil {
		return nil, err
	}
	if len(cols) == 0 {
		return nil, fmt.Errorf("pipeline: %s: no columns to read", src.Path)
	}
	format := src.Format
	if format == "" {
		if format, err = FormatOf(src.Path); err != nil {
			return nil, err
		}
	}
	if format != CSV && format != TSV && format != JSONL {
		return nil, fmt.Errorf("pipeline: %s: a table is read from csv, tsv or jsonl, not %s", src.Path, format)
	}
	l, err := openLines(src.Path, lim.LineBytes())
	if err != nil {
		return nil, err
	}
	defer l.close()
	names := make([]string, len(cols))
	for i, c := range cols {
		names[i] = c.Name
		if n, ok := src.Rename[c.Name]; ok && n != "" {
			names[i] = n
		}
	}
	b := array.NewRecordBuilder(memory.DefaultAllocator, schema)
	defer b.Release()
	t := &tableReader{path: src.Path, cols: cols, b: b, maxList: lim.Tokens()}
	var split func(line []byte) ([]string, error)
	if format == JSONL {
		t.json = true
	} else {
		sep := ','
		if format == TSV {
			sep = '\t'
		}
		header, err := l.next()
		if err == io.EOF {
			return nil, badf(src.Path, 1, 0, "empty file: want a header row naming the columns %s", quoteList(names))
		} else if err != nil {
			return nil, err
		}
		split = fieldSplitter(sep)
		heads, err := split(header)
		if err != nil {
			return nil, badf(src.Path, 1, 0, "the header: %v", err)
		}
		if t.index, err = columnIndex(heads, names); err != nil {
			return nil, badf(src.Path, 1, 0, "%v", err)
		}
	}
	for {
		if l.n%4096 == 0 && ctx.Err() != nil {
			return nil, context.Cause(ctx)
		}
		line, err := l.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		if t.json {
			err = t.jsonRow(line, names)
		} else {
			var fields []string
			if fields, err = split(line); err == nil {
				err = t.row(fields)
			}
		}
		if err != nil {
			var pe *Error
			if errors.As(err, &pe) {
				pe.Line = l.n
				return nil, pe
			}
			return nil, badf(src.Path, l.n, 0, "%v", err)
		}
	}
	return b.NewRecordBatch(), nil
}

// fieldSplitter splits a CSV or TSV line into its fields: TSV at its tabs,
// CSV by encoding/csv's quoting rules (a quoted field may not span lines).
func fieldSplitter(sep rune) func(line []byte) ([]string, error) {
	if sep == '\t' {
		return func(line []byte) ([]string, error) { return strings.Split(string(line), "\t"), nil }
	}
	return func(line []byte) ([]string, error) {
		if bytes.IndexByte(line, '"') < 0 {
			return strings.Split(string(line), ","), nil
		}
		r := csv.NewReader(bytes.NewReader(line))
		r.FieldsPerRecord = -1
		f, err := r.Read()
		if err != nil {
			return nil, fmt.Errorf("%v (a table's quoted field may not span lines)", err)
		}
		return f, nil
	}
}

// columnIndex finds each name among a header's columns.
func columnIndex(heads, names []string) ([]int, error) {
	at := make(map[string]int, len(heads))
	for i, h := range heads {
		at[strings.TrimSpace(h)] = i
	}
	idx := make([]int, len(names))
	for i, n := range names {
		j, ok := at[n]
		if !ok {
			return nil, fmt.Errorf("no column %q (the header has %s)", n, quoteList(heads))
		}
		idx[i] = j
	}
	return idx, nil
}

// tableReader appends rows to a record builder.
type tableReader struct {
	path    string
	cols    []TableColumn
	b       *array.RecordBuilder
	index   []int // CSV and TSV: each column's field
	json    bool
	maxList int
}

func (t *tableReader) row(fields []string) error {
	for i, c := range t.cols {
		j := t.index[i]
		if j >= len(fields) {
			return fmt.Errorf("%d fields, and column %q is field %d", len(fields), c.Name, j+1)
		}
		if err := t.value(i, fields[j], nil); err != nil {
			return err
		}
	}
	return nil
}

func (t *tableReader) jsonRow(line []byte, names []string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(line, &obj); err != nil {
		return fmt.Errorf("not a JSON object: %v", err)
	}
	for i, c := range t.cols {
		raw, ok := obj[names[i]]
		if !ok {
			return fmt.Errorf("no key %q", names[i])
		}
		var s string
		var list []json.Number
		switch {
		case len(raw) > 0 && raw[0] == '"':
			if err := json.Unmarshal(raw, &s); err != nil {
				return fmt.Errorf("%q: %v", names[i], err)
			}
		case len(raw) > 0 && raw[0] == '[':
			if c.Type != Int64List && c.Type != Float64List {
				return fmt.Errorf("%q: a list, where a %s is wanted", names[i], c.Type)
			}
			d := json.NewDecoder(bytes.NewReader(raw))
			d.UseNumber()
			if err := d.Decode(&list); err != nil {
				return fmt.Errorf("%q: want a list of numbers: %v", names[i], err)
			}
			if list == nil {
				list = []json.Number{}
			}
		default:
			s = string(raw)
		}
		if err := t.value(i, s, list); err != nil {
			return err
		}
	}
	return nil
}

// value appends column i's value, from its text s or, for a JSON array, list.
func (t *tableReader) value(i int, s string, list []json.Number) error {
	c := t.cols[i]
	s = strings.TrimSpace(s)
	switch bld := t.b.Field(i).(type) {
	case *array.Int64Builder:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("column %q: %q is not an integer", c.Name, s)
		}
		bld.Append(v)
	case *array.Float64Builder:
		v, err := parseFinite(s)
		if err != nil {
			return fmt.Errorf("column %q: %v", c.Name, err)
		}
		bld.Append(v)
	case *array.StringBuilder:
		bld.Append(s)
	case *array.ListBuilder:
		items := make([]string, len(list))
		for k, n := range list {
			items[k] = n.String()
		}
		if list == nil {
			items = strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' || r == '\t' })
		}
		if len(items) > t.maxList {
			return fmt.Errorf("column %q: %d values, more than %d (data.limits.max_tokens)", c.Name, len(items), t.maxList)
		}
		bld.Append(true)
		switch vb := bld.ValueBuilder().(type) {
		case *array.Int64Builder:
			for _, it := range items {
				v, err := strconv.ParseInt(it, 10, 64)
				if err != nil {
					return fmt.Errorf("column %q: %q is not an integer", c.Name, it)
				}
				vb.Append(v)
			}
		case *array.Float64Builder:
			for _, it := range items {
				v, err := parseFinite(it)
				if err != nil {
					return fmt.Errorf("column %q: %v", c.Name, err)
				}
				vb.Append(v)
			}
		}
	}
	return nil
}

func parseFinite(s string) (float64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("%q is not a finite number", s)
	}
	return v, nil
}
