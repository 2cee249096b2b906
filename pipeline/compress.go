package pipeline

import (
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
)

// Compressions a text source may be stored in, by the extension that follows
// the format's (train.jsonl.gz, part-0003.conll.zst).
var compressions = map[string]bool{".gz": true, ".zst": true}

// maxZstdWindow bounds the memory a zstd frame may ask the decoder for (its
// window is declared in the file): 128 MiB covers zstd --long=27; larger is
// refused, as a file whose header asks for gigabytes would be.
const maxZstdWindow = 128 << 20

// trimCompression returns path without a compression extension, and that
// extension (empty when there is none).
func trimCompression(path string) (base, ext string) {
	ext = strings.ToLower(filepath.Ext(path))
	if compressions[ext] {
		return path[:len(path)-len(ext)], ext
	}
	return path, ""
}

// decompress wraps r, the bytes of the file at path, in the decompressor its
// extension names, registering the decompressor's Close with c.
func decompress(path string, r io.Reader, c *countingReader) (io.Reader, error) {
	switch _, ext := trimCompression(path); ext {
	case ".gz":
		// Concatenated members (bgzip, cat a.gz b.gz) are read as one stream.
		z, err := gzip.NewReader(r)
		if err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable gzip file: %w", err), fatal: true}
		}
		c.closers = append(c.closers, z.Close)
		return decompressErrors{z, path}, nil
	case ".zst":
		z, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(maxZstdWindow), zstd.WithDecoderMaxMemory(maxZstdWindow))
		if err != nil {
			return nil, &Error{Path: path, Err: fmt.Errorf("not a readable zstd file: %w", err), fatal: true}
		}
		c.closers = append(c.closers, func() error { z.Close(); return nil })
		return decompressErrors{z, path}, nil
	}
	return r, nil
}

// decompressErrors says which file a decompression error comes from: a corrupt or
// truncated shard stops reading (nothing after it can be trusted).
type decompressErrors struct {
	r    io.Reader
	path string
}

func (g decompressErrors) Read(p []byte) (int, error) {
	n, err := g.r.Read(p)
	if err != nil && err != io.EOF {
		err = &Error{Path: g.path, Err: fmt.Errorf("cannot decompress: %w", err), fatal: true}
	}
	return n, err
}
