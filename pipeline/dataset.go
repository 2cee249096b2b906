package pipeline

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// Dataset is an encoded split held in an Arrow IPC file and memory-mapped: opening
// it reads only the footer and schema, and its records point into the mapping.
type Dataset struct {
	path    string
	schema  *arrow.Schema
	records []arrow.RecordBatch
	rows    int
	unmap   func() error
}

// OpenDataset maps a dataset file written by [WriteDataset]. A truncated or corrupt
// file is an error wrapping [ErrBadInput], never a panic.
func OpenDataset(path string) (d *Dataset, err error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	defer func() {
		if r := recover(); r != nil { // arrow's decoder panics on some corrupt input
			err = &Error{Path: path, Err: fmt.Errorf("corrupt Arrow IPC file: %v", r)}
		}
		if err != nil {
			d.Close()
			unmap()
			d = nil
		}
	}()
	d = &Dataset{path: path, unmap: unmap}
	fr, err := ipc.NewMappedFileReader(data, ipc.WithAllocator(memory.DefaultAllocator))
	if err != nil {
		return d, &Error{Path: path, Err: fmt.Errorf("not a readable Arrow IPC file: %w", err)}
	}
	defer fr.Close()
	d.schema = fr.Schema()
	for i := 0; i < fr.NumRecords(); i++ {
		rec, err := fr.RecordBatch(i)
		if err != nil {
			return d, &Error{Path: path, Err: fmt.Errorf("record batch %d: %w", i, err)}
		}
		if err := validate(rec); err != nil {
			return d, &Error{Path: path, Err: fmt.Errorf("record batch %d: %w", i, err)}
		}
		rec.Retain()
		d.records = append(d.records, rec)
		d.rows += int(rec.NumRows())
	}
	return d, nil
}

// Schema is the schema of the encoded records.
func (d *Dataset) Schema() *arrow.Schema { return d.schema }

// Records returns the record batches; they are valid until Close.
func (d *Dataset) Records() []arrow.RecordBatch { return d.records }

// NumRows is the number of examples.
func (d *Dataset) NumRows() int { return d.rows }

// Close releases the records and unmaps the file. Records must not be used after.
func (d *Dataset) Close() error {
	if d == nil {
		return nil
	}
	for _, r := range d.records {
		r.Release()
	}
	d.records = nil
	if d.unmap == nil {
		return nil
	}
	err := d.unmap()
	d.unmap = nil
	return err
}

// WriteDataset streams the records that produce hands to emit into an Arrow IPC
// file at path. The file appears only complete: it is written to a temporary file in
// the same folder, fsynced and renamed, so a crash or an error leaves no partial
// file that a later run trusts. Records are written as they come; none is kept.
func WriteDataset(path string, schema *arrow.Schema, produce func(emit func(arrow.RecordBatch) error) error) (err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	w, err := ipc.NewFileWriter(f, ipc.WithSchema(schema))
	if err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	if err = produce(w.Write); err != nil {
		return err
	}
	if err = w.Close(); err != nil {
		return fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("pipeline: %w", err)
	}
	return nil
}

// validate checks what the readers of a dataset rely on: list offsets that start
// at or after 0, never decrease and stay within the values. arrow's IPC decoder
// checks buffer sizes but not offsets, and a corrupt offset would otherwise become
// an out-of-range slice far from here.
func validate(rec arrow.RecordBatch) error {
	for i, col := range rec.Columns() {
		l, ok := col.(*array.List)
		if !ok {
			continue
		}
		off := l.Offsets()
		if len(off) != l.Len()+1 {
			return fmt.Errorf("column %q: %d offsets for %d rows", rec.ColumnName(i), len(off), l.Len())
		}
		prev := int32(0)
		for _, o := range off {
			if o < prev {
				return fmt.Errorf("column %q: list offsets decrease", rec.ColumnName(i))
			}
			prev = o
		}
		if int(prev) > l.ListValues().Len() {
			return fmt.Errorf("column %q: list offsets run past the %d values", rec.ColumnName(i), l.ListValues().Len())
		}
	}
	return nil
}
