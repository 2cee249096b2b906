package pipeline

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/internal/atomicfile"
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

// Seal identifies the metadata of a dataset file as [WriteDataset] wrote it: the file
// size and a SHA-256 of the IPC footer, which holds the schema and the position of
// every record batch. arrow's decoder trusts the counts in that footer (a corrupt
// one can make it allocate terabytes), so [OpenDataset] checks the seal before
// arrow reads anything. Checking it reads only the footer, so opening stays
// independent of the dataset's size.
type Seal struct {
	Size   int64  `json:"size"`
	Footer string `json:"footer_sha256"`
}

// ipcMagic ends an Arrow IPC file, after the footer and its int32 length.
const ipcMagic = "ARROW1"

func sealOf(data []byte) (Seal, error) {
	n := len(data)
	if n < 8+4+len(ipcMagic) || string(data[n-len(ipcMagic):]) != ipcMagic {
		return Seal{}, errors.New("not an Arrow IPC file (no trailing magic)")
	}
	flen := int(int32(binary.LittleEndian.Uint32(data[n-len(ipcMagic)-4:])))
	end := n - len(ipcMagic) - 4
	if flen <= 0 || flen > end-8 {
		return Seal{}, fmt.Errorf("footer length %d does not fit a file of %d bytes", flen, n)
	}
	sum := sha256.Sum256(data[end-flen : end])
	return Seal{Size: int64(n), Footer: hex.EncodeToString(sum[:])}, nil
}

// OpenDataset maps a dataset file written by [WriteDataset] and checks it against
// the seal that WriteDataset returned. A truncated, corrupt or replaced file is an
// error wrapping [ErrBadInput], never a panic.
func OpenDataset(path string, seal Seal) (d *Dataset, err error) {
	data, unmap, err := mapFile(path)
	if err != nil {
		return nil, err
	}
	if got, err := sealOf(data); err != nil || got != seal {
		unmap()
		if err == nil {
			err = errors.New("the file does not match its seal: it changed since it was written")
		}
		return nil, &Error{Path: path, Err: err}
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
	if err := CheckIPC(bytes.NewReader(data), int64(len(data)), true); err != nil {
		return d, &Error{Path: path, Err: fmt.Errorf("not a readable Arrow IPC file: %w", err)}
	}
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

// OpenDatasets maps the shard files of one split, each checked against its
// seal as [OpenDataset] does, as one dataset: their records one after the
// other, so batching indexes (and shuffles) rows across every shard. The
// shards must share one schema.
func OpenDatasets(paths []string, seals []Seal) (*Dataset, error) {
	if len(paths) == 0 || len(paths) != len(seals) {
		return nil, fmt.Errorf("pipeline: %d dataset files and %d seals", len(paths), len(seals))
	}
	all := &Dataset{path: filepath.Dir(paths[0])}
	var unmaps []func() error
	all.unmap = func() error {
		var errs []error
		for _, u := range unmaps {
			errs = append(errs, u())
		}
		return errors.Join(errs...)
	}
	for i, p := range paths {
		d, err := OpenDataset(p, seals[i])
		if err != nil {
			all.Close()
			return nil, err
		}
		if all.schema == nil {
			all.schema = d.schema
		} else if !d.schema.Equal(all.schema) {
			d.Close()
			all.Close()
			return nil, &Error{Path: p, Err: fmt.Errorf("schema %s differs from the first shard's %s", d.schema, all.schema)}
		}
		all.records = append(all.records, d.records...)
		all.rows += d.rows
		d.records = nil
		unmaps = append(unmaps, d.unmap)
	}
	return all, nil
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
// It returns the seal that [OpenDataset] needs.
func WriteDataset(path string, schema *arrow.Schema, produce func(emit func(arrow.RecordBatch) error) error) (seal Seal, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return seal, fmt.Errorf("pipeline: %w", err)
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return seal, fmt.Errorf("pipeline: %w", err)
	}
	defer f.Abort()
	// The IPC writer writes every buffer and its padding as a write of its
	// own: buffered, a record is a few large writes instead of hundreds of
	// small system calls.
	bw := bufio.NewWriterSize(f, 1<<20)
	w, err := ipc.NewFileWriter(bw, ipc.WithSchema(schema))
	if err != nil {
		return seal, fmt.Errorf("pipeline: %w", err)
	}
	if err = produce(w.Write); err != nil {
		return seal, err
	}
	if err = w.Close(); err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return seal, fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	if err = f.Commit(); err != nil {
		return seal, fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	// Sealed as written: a second process's build of the same key renames
	// the same bytes over it.
	data, unmap, err := mapFile(path)
	if err != nil {
		return seal, err
	}
	seal, err = sealOf(data)
	unmap()
	if err != nil {
		return seal, fmt.Errorf("pipeline: writing %s: %w", path, err)
	}
	return seal, nil
}

// validate checks, in time independent of the number of rows, what every reader
// of a dataset relies on: each column as long as the batch, buffers that hold
// every value (touching them panics, which OpenDataset turns into an error, when a
// corrupt length claims more than is there), and list offsets that start at or
// after 0 and end within the values. arrow's IPC decoder checks none of this for
// record batches. That offsets never decrease is checked by [NewBatcher], which
// visits every row anyway.
func validate(rec arrow.RecordBatch) error {
	n := int(rec.NumRows())
	for i, col := range rec.Columns() {
		if col.Len() != n {
			return fmt.Errorf("column %q has %d rows, the batch %d", rec.ColumnName(i), col.Len(), n)
		}
		switch c := col.(type) {
		case *array.Int32:
			_ = c.Int32Values()
		case *array.Int64:
			_ = c.Int64Values()
		case *array.List:
			off := c.Offsets()
			if len(off) != n+1 {
				return fmt.Errorf("column %q: %d offsets for %d rows", rec.ColumnName(i), len(off), n)
			}
			var values int
			switch vals := c.ListValues().(type) {
			case *array.Int32:
				values = len(vals.Int32Values())
			case *array.Float32:
				if rec.ColumnName(i) != VectorField {
					return fmt.Errorf("column %q: list of float32, want int32", rec.ColumnName(i))
				}
				values = len(vals.Float32Values())
			default:
				return fmt.Errorf("column %q: list of %s, want int32", rec.ColumnName(i), vals.DataType())
			}
			if off[0] < 0 || off[n] < off[0] || int(off[n]) > values {
				return fmt.Errorf("column %q: list offsets [%d, %d] outside the %d values", rec.ColumnName(i), off[0], off[n], values)
			}
		default:
			return fmt.Errorf("column %q has type %s, which datasets do not use", rec.ColumnName(i), col.DataType())
		}
	}
	return nil
}
