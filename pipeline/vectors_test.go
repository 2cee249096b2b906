package pipeline_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
)

// word2vecBinary writes vecs as binary word2vec, each vector followed by a
// line end as the original tool writes them.
func word2vecBinary(words []string, vecs [][]float32) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "%d %d\n", len(words), len(vecs[0]))
	for i, w := range words {
		b.WriteString(w + " ")
		for _, x := range vecs[i] {
			binary.Write(&b, binary.LittleEndian, x)
		}
		b.WriteByte('\n')
	}
	return b.Bytes()
}

func TestReadVectors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write([]byte("the 0.1 0.2 0.3\nBoston 1 2 3\n"))
	zw.Close()
	words := []string{"the", "Boston", "ñandú"}
	want := [][]float32{{0.1, 0.2, 0.3}, {1, 2, 3}, {-0.5, 0, 1e-3}}
	for _, c := range []struct {
		name   string
		format pipeline.VectorFormat
		data   []byte
		words  []string
	}{
		{"w2v.txt", pipeline.Word2Vec, []byte("3 3\nthe 0.1 0.2 0.3\nBoston 1 2 3\nñandú -0.5 0 0.001\n"), words},
		{"w2v.bin", pipeline.Word2Vec, word2vecBinary(words, want), words},
		{"ft.vec", pipeline.FastTextVec, []byte("3 3\r\nthe 0.1 0.2 0.3 \r\nBoston 1 2 3\r\nñandú -0.5 0 1e-3\r\n"), words},
		{"glove.txt", pipeline.GloVe, []byte("the 0.1 0.2 0.3\nBoston 1 2 3\n\nñandú -0.5 0 0.001\n"), words},
		{"glove.txt.gz", pipeline.GloVe, gz.Bytes(), words[:2]},
		{"spaces.txt", pipeline.GloVe, []byte("the 0.1 0.2 0.3\n. . . 1 2 3\n"), []string{"the", ". . ."}},
	} {
		v, err := pipeline.ReadVectors(write(c.name, c.data), pipeline.VectorsOptions{Format: c.format})
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if v.Dim != 3 || !slices.Equal(v.Words, c.words) || v.Total != len(c.words) {
			t.Fatalf("%s: dim %d words %q total %d", c.name, v.Dim, v.Words, v.Total)
		}
		for i := range c.words {
			if c.name == "spaces.txt" && i == 1 {
				continue
			}
			for j, x := range v.Vector(i) {
				if math.Abs(float64(x-want[i][j])) > 1e-7 {
					t.Errorf("%s: %s[%d] = %v, want %v", c.name, c.words[i], j, x, want[i][j])
				}
			}
		}
	}
	// Keep and MaxWords: only the vocabulary's words, at most MaxWords of them;
	// a word the file holds twice keeps its first vector.
	p := write("dup.txt", []byte("a 1\nb 2\na 3\nc 4\nd 5\n"))
	v, err := pipeline.ReadVectors(p, pipeline.VectorsOptions{Format: pipeline.GloVe, Keep: func(w string) bool { return w != "b" }, MaxWords: 2})
	if err != nil || !slices.Equal(v.Words, []string{"a", "c"}) || !slices.Equal(v.Data, []float32{1, 4}) || v.Total != 5 {
		t.Fatalf("kept %v %v of %d (%v)", v.Words, v.Data, v.Total, err)
	}
	// Positioned errors.
	for _, c := range []struct {
		name   string
		format pipeline.VectorFormat
		data   string
		want   string
	}{
		{"noheader.txt", pipeline.Word2Vec, "the 0.1 0.2\n", "noheader.txt:1: want a header of two numbers, the word count and the dimension, got \"the 0.1 0.2\" (a GloVe file has no header: format glove)"},
		{"count.txt", pipeline.FastTextVec, "1 2\na 1\n", "count.txt:2: 1 numbers after the word, want 2 (the dimension)"},
		{"nan.txt", pipeline.GloVe, "a 1 2\nb 1 x\n", "nan.txt:2: number 2 of \"b\" is \"x\", not a finite number"},
		{"inf.txt", pipeline.GloVe, "a 1 inf\n", "inf.txt:1: number 2 of \"a\" is \"inf\", not a finite number"},
		{"short.txt", pipeline.Word2Vec, "5 1\na 1\nb 2\n", "short.txt:1: the header says 5 words, the file holds 2: a file cut short?"},
		{"dim.txt", pipeline.Word2Vec, "1 100000\n", "dim.txt:1: dimension 100000 is over 4096"},
		{"empty.txt", pipeline.GloVe, "\n\n", "empty.txt: no vectors in the file"},
		{"cut.bin", pipeline.Word2Vec, string(word2vecBinary(words, want)[:30]), "the file ends inside"},
	} {
		_, err := pipeline.ReadVectors(write(c.name, []byte(c.data)), pipeline.VectorsOptions{Format: c.format})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want %q", c.name, err, c.want)
		}
	}
	if _, err := pipeline.ReadVectors(p, pipeline.VectorsOptions{Format: "bin"}); err == nil {
		t.Error("an unknown format was read")
	}
}

func FuzzVectors(f *testing.F) {
	f.Add([]byte("2 2\na 1 2\nb 3 4\n"))
	f.Add([]byte("a 1 2\nb 3 4\n"))
	f.Add(word2vecBinary([]string{"x", "y"}, [][]float32{{1, 2}, {3, 4}}))
	f.Fuzz(func(t *testing.T, data []byte) {
		p := filepath.Join(t.TempDir(), "v.txt")
		os.WriteFile(p, data, 0o644)
		for _, format := range []pipeline.VectorFormat{pipeline.Word2Vec, pipeline.GloVe} {
			v, err := pipeline.ReadVectors(p, pipeline.VectorsOptions{Format: format, MaxWords: 100})
			if err != nil {
				continue
			}
			if v.Dim < 1 || v.Dim > pipeline.MaxVectorDim || len(v.Data) != len(v.Words)*v.Dim || len(v.Words) > 100 {
				t.Fatalf("%s: dim %d, %d words, %d numbers", format, v.Dim, len(v.Words), len(v.Data))
			}
		}
	})
}
