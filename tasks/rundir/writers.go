package rundir

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

// RowWriter writes prediction records, one row per example.
type RowWriter interface {
	Write(rec arrow.RecordBatch) error
	Close() error
}

// WriteAll writes every record batch of r to w and returns the rows written,
// or r's error; it leaves w open.
func WriteAll(w RowWriter, r array.RecordReader) (rows int64, err error) {
	for r.Next() {
		rec := r.RecordBatch()
		if err := w.Write(rec); err != nil {
			return rows, err
		}
		rows += rec.NumRows()
	}
	return rows, r.Err()
}

// NewRowWriter returns a writer for the format of path's extension: .jsonl or
// .json (JSON Lines), .csv, .tsv or .parquet. Path "-" writes JSON Lines.
func NewRowWriter(path string, w io.Writer) (RowWriter, error) {
	switch ext := strings.ToLower(filepath.Ext(path)); {
	case path == "-" || ext == ".jsonl" || ext == ".json" || ext == ".ndjson":
		return &jsonlWriter{w: bufio.NewWriterSize(w, 1<<16)}, nil
	case ext == ".csv" || ext == ".tsv":
		cw := csv.NewWriter(w)
		if ext == ".tsv" {
			cw.Comma = '\t'
		}
		return &csvWriter{w: cw}, nil
	case ext == ".parquet":
		// pqarrow closes its sink when it is an io.Closer; the caller owns w.
		return &parquetWriter{w: struct{ io.Writer }{w}}, nil
	default:
		return nil, fmt.Errorf("cannot tell the output format of %q: use .jsonl, .csv, .tsv or .parquet", path)
	}
}

// Cell renders one value as text (CSV) or as a JSON value.
func Cell(col arrow.Array, i int, asJSON bool) any {
	if col.IsNull(i) {
		if asJSON {
			return nil
		}
		return ""
	}
	switch c := col.(type) {
	case *array.String:
		return c.Value(i)
	case *array.Int64:
		return c.Value(i)
	case *array.Int32:
		return c.Value(i)
	case *array.Float64:
		return c.Value(i)
	case *array.Float32:
		return c.Value(i)
	case *array.List:
		start, end := c.ValueOffsets(i)
		vals := make([]string, 0, end-start)
		var native []any // JSON keeps numbers as numbers
		for k := start; k < end; k++ {
			v := Cell(c.ListValues(), int(k), asJSON)
			vals = append(vals, fmt.Sprint(v))
			if _, isString := v.(string); !isString {
				native = append(native, v)
			}
		}
		if asJSON && native != nil {
			return native
		}
		if asJSON {
			return vals
		}
		return strings.Join(vals, " ")
	}
	return col.ValueStr(i)
}

type jsonlWriter struct {
	w *bufio.Writer
}

func (j *jsonlWriter) Write(rec arrow.RecordBatch) error {
	fields := rec.Schema().Fields()
	for i := range int(rec.NumRows()) {
		j.w.WriteByte('{')
		for c, f := range fields {
			if c > 0 {
				j.w.WriteByte(',')
			}
			k, _ := json.Marshal(f.Name)
			j.w.Write(k)
			j.w.WriteByte(':')
			v, err := json.Marshal(Cell(rec.Column(c), i, true))
			if err != nil {
				return err
			}
			j.w.Write(v)
		}
		if _, err := j.w.WriteString("}\n"); err != nil {
			return err
		}
	}
	return nil
}

func (j *jsonlWriter) Close() error { return j.w.Flush() }

type csvWriter struct {
	w      *csv.Writer
	header bool
	row    []string
}

func (c *csvWriter) Write(rec arrow.RecordBatch) error {
	fields := rec.Schema().Fields()
	if !c.header {
		names := make([]string, len(fields))
		for i, f := range fields {
			names[i] = f.Name
		}
		if err := c.w.Write(names); err != nil {
			return err
		}
		c.header = true
	}
	for i := range int(rec.NumRows()) {
		c.row = c.row[:0]
		for k := range fields {
			switch v := Cell(rec.Column(k), i, false).(type) {
			case string:
				c.row = append(c.row, v)
			case float64:
				c.row = append(c.row, strconv.FormatFloat(v, 'g', -1, 64))
			default:
				c.row = append(c.row, fmt.Sprint(v))
			}
		}
		if err := c.w.Write(c.row); err != nil {
			return err
		}
	}
	return nil
}

func (c *csvWriter) Close() error {
	c.w.Flush()
	return c.w.Error()
}

type parquetWriter struct {
	w  io.Writer
	fw *pqarrow.FileWriter
}

func (p *parquetWriter) Write(rec arrow.RecordBatch) error {
	if p.fw == nil {
		props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
		fw, err := pqarrow.NewFileWriter(rec.Schema(), p.w, props, pqarrow.DefaultWriterProps())
		if err != nil {
			return err
		}
		p.fw = fw
	}
	return p.fw.WriteBuffered(rec)
}

func (p *parquetWriter) Close() error {
	if p.fw == nil {
		return nil
	}
	return p.fw.Close()
}
