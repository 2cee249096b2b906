package pipeline

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// CheckIPC checks the metadata of Arrow IPC data (a file when file is set, else
// a stream) before arrow's reader sees it. Arrow's Go reader sizes slices by
// the element counts that the flatbuffer metadata states (the fields of a
// schema, the children of a field, the custom metadata of a message), without
// checking them against the buffer: one flipped byte can make it ask for
// terabytes, which is a fatal error in Go, not a panic that can be recovered.
// So every vector that arrow allocates by is checked to fit in its buffer, and
// nesting is bounded. It reads only metadata: bodies are skipped.
func CheckIPC(r io.ReaderAt, size int64, file bool) error {
	if file {
		return checkIPCFile(r, size)
	}
	_, err := checkIPCMessages(r, 0, size, -1)
	return err
}

// maxIPCNesting bounds the nesting of fields (a list of structs of lists…).
const maxIPCNesting = 64

func checkIPCFile(r io.ReaderAt, size int64) error {
	if size < int64(2*len(ipcMagic)+4) {
		return errors.New("too short for an Arrow IPC file")
	}
	var tail [10]byte
	if _, err := r.ReadAt(tail[:], size-10); err != nil {
		return err
	}
	if string(tail[4:]) != ipcMagic {
		return errors.New("no Arrow IPC file magic at the end")
	}
	n := int64(int32(binary.LittleEndian.Uint32(tail[:4])))
	if n <= 0 || n > size-10 {
		return fmt.Errorf("footer of %d bytes in a file of %d", n, size)
	}
	footer := make(fbuf, n)
	if _, err := r.ReadAt(footer, size-10-n); err != nil {
		return err
	}
	root, err := footer.root()
	if err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	if s, ok, err := root.table(1); err != nil {
		return fmt.Errorf("footer: %w", err)
	} else if ok {
		if err := checkSchema(s); err != nil {
			return fmt.Errorf("footer schema: %w", err)
		}
	}
	if err := checkKeyValues(root, 4); err != nil {
		return fmt.Errorf("footer: %w", err)
	}
	// The messages of the dictionaries (2) and record batches (3): Block
	// structs of offset int64, metadata length int32 (and padding), body length
	// int64.
	for _, slot := range []int{2, 3} {
		start, count, err := root.vector(slot, 24)
		if err != nil {
			return fmt.Errorf("footer: %w", err)
		}
		for i := range count {
			b := footer[start+24*i:]
			off := int64(binary.LittleEndian.Uint64(b))
			meta := int64(int32(binary.LittleEndian.Uint32(b[8:])))
			if off < 0 || meta <= 0 || off > size || meta > size-off {
				return fmt.Errorf("block %d points outside the file", i)
			}
			if _, err := checkIPCMessages(r, off, off+meta, 1); err != nil {
				return fmt.Errorf("block %d: %w", i, err)
			}
		}
	}
	return nil
}

// checkIPCMessages checks up to max messages (-1: all) framed as in a stream,
// from pos up to end, and returns where it stopped.
func checkIPCMessages(r io.ReaderAt, pos, end int64, max int) (int64, error) {
	for i := 0; max < 0 || i < max; i++ {
		var pre [8]byte
		if end-pos < 4 {
			return pos, nil // the end, or a truncated stream that arrow reports
		}
		if _, err := r.ReadAt(pre[:4], pos); err != nil {
			return pos, err
		}
		n := int64(int32(binary.LittleEndian.Uint32(pre[:4])))
		pos += 4
		if n == -1 { // continuation marker, then the length
			if end-pos < 4 {
				return pos, nil
			}
			if _, err := r.ReadAt(pre[4:], pos); err != nil {
				return pos, err
			}
			n = int64(int32(binary.LittleEndian.Uint32(pre[4:])))
			pos += 4
		}
		if n == 0 {
			return pos, nil // end of stream
		}
		if n < 0 || n > end-pos {
			return pos, fmt.Errorf("message %d: metadata of %d bytes, past the end of the data", i, n)
		}
		meta := make(fbuf, n)
		if _, err := r.ReadAt(meta, pos); err != nil {
			return pos, err
		}
		pos += n
		body, err := checkMessage(meta)
		if err != nil {
			return pos, fmt.Errorf("message %d: %w", i, err)
		}
		if body < 0 || body > end-pos {
			if max > 0 {
				return pos, nil // a file block: arrow checks the body against the file
			}
			return pos, fmt.Errorf("message %d: body of %d bytes, past the end of the data", i, body)
		}
		pos += body
	}
	return pos, nil
}

// checkMessage checks a Message flatbuffer (version 0, header_type 1, header 2,
// bodyLength 3, custom_metadata 4) and returns its body length.
func checkMessage(meta fbuf) (int64, error) {
	root, err := meta.root()
	if err != nil {
		return 0, err
	}
	if err := checkKeyValues(root, 4); err != nil {
		return 0, err
	}
	var body int64
	if p, ok := root.field(3, 8); ok {
		body = int64(binary.LittleEndian.Uint64(meta[p:]))
	}
	if p, ok := root.field(1, 1); ok && meta[p] == 1 { // a Schema
		s, ok, err := root.table(2)
		if err != nil {
			return 0, err
		}
		if ok {
			if err := checkSchema(s); err != nil {
				return 0, fmt.Errorf("schema: %w", err)
			}
		}
	}
	return body, nil
}

// checkSchema checks a Schema table: fields 1, custom_metadata 2.
func checkSchema(s fbTable) error {
	if err := checkKeyValues(s, 2); err != nil {
		return err
	}
	return checkFields(s, 1, 0)
}

// checkFields checks the vector of Field tables in slot of t, and their
// children (Field: name 0, children 5, custom_metadata 6).
func checkFields(t fbTable, slot, depth int) error {
	if depth > maxIPCNesting {
		return fmt.Errorf("fields nested more than %d deep", maxIPCNesting)
	}
	return t.eachTable(slot, "field", func(f fbTable) error {
		if err := checkKeyValues(f, 6); err != nil {
			return err
		}
		return checkFields(f, 5, depth+1)
	})
}

// checkKeyValues checks a custom_metadata vector of KeyValue tables (key 0,
// value 1, strings).
func checkKeyValues(t fbTable, slot int) error {
	return t.eachTable(slot, "metadata", func(kv fbTable) error {
		for s := range 2 {
			if _, _, err := kv.vector(s, 1); err != nil {
				return err
			}
		}
		return nil
	})
}

// fbuf is a flatbuffer, read with every offset checked.
type fbuf []byte

// fbTable is a table of a flatbuffer: its position and its vtable's.
type fbTable struct {
	buf     fbuf
	pos, vt int
	vtLen   int
}

var errFlatbuffer = errors.New("corrupt metadata: an offset or a length points outside its buffer")

func (b fbuf) u32(p int) (int, bool) {
	if p < 0 || p > len(b)-4 {
		return 0, false
	}
	return int(binary.LittleEndian.Uint32(b[p:])), true
}

func (b fbuf) root() (fbTable, error) {
	off, ok := b.u32(0)
	if !ok {
		return fbTable{}, errFlatbuffer
	}
	return b.tableAt0(off)
}

// tableAt reads the offset to a table stored at p.
func (b fbuf) tableAt(p int) (fbTable, error) {
	off, ok := b.u32(p)
	if !ok {
		return fbTable{}, errFlatbuffer
	}
	return b.tableAt0(p + off)
}

func (b fbuf) tableAt0(pos int) (fbTable, error) {
	soff, ok := b.u32(pos)
	if !ok {
		return fbTable{}, errFlatbuffer
	}
	vt := pos - int(int32(uint32(soff)))
	if vt < 0 || vt > len(b)-4 {
		return fbTable{}, errFlatbuffer
	}
	vtLen := int(binary.LittleEndian.Uint16(b[vt:]))
	if vtLen < 4 || vt+vtLen > len(b) {
		return fbTable{}, errFlatbuffer
	}
	return fbTable{buf: b, pos: pos, vt: vt, vtLen: vtLen}, nil
}

// field returns the position of field slot when it is present and its size
// bytes are inside the buffer.
func (t fbTable) field(slot, size int) (int, bool) {
	o := 4 + 2*slot
	if o+2 > t.vtLen {
		return 0, false
	}
	off := int(binary.LittleEndian.Uint16(t.buf[t.vt+o:]))
	if off == 0 {
		return 0, false
	}
	p := t.pos + off
	if p+size > len(t.buf) {
		return 0, false
	}
	return p, true
}

// table returns the table that field slot points to, if present.
func (t fbTable) table(slot int) (fbTable, bool, error) {
	p, ok := t.field(slot, 4)
	if !ok {
		return fbTable{}, false, nil
	}
	s, err := t.buf.tableAt(p)
	return s, err == nil, err
}

// eachTable calls check on each table of the vector of tables in field slot,
// and names the failing one (what, i) in the error.
func (t fbTable) eachTable(slot int, what string, check func(fbTable) error) error {
	start, n, err := t.vector(slot, 4)
	if err != nil {
		return err
	}
	for i := range n {
		e, err := t.buf.tableAt(start + 4*i)
		if err == nil {
			err = check(e)
		}
		if err != nil {
			return fmt.Errorf("%s %d: %w", what, i, err)
		}
	}
	return nil
}

// vector returns the start and length of the vector (or string) of field slot,
// checked to hold n elements of elem bytes inside the buffer.
func (t fbTable) vector(slot, elem int) (start, n int, err error) {
	p, ok := t.field(slot, 4)
	if !ok {
		return 0, 0, nil
	}
	off, _ := t.buf.u32(p)
	v := p + off
	n, ok = t.buf.u32(v)
	if !ok || n > (len(t.buf)-v-4)/elem {
		return 0, 0, errFlatbuffer
	}
	return v + 4, n, nil
}
