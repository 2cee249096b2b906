package pipeline_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
)

// TestStreams reads a text file as one character stream (line breaks kept) and
// cuts it into B parallel streams of T-step windows with next-token targets.
func TestStreams(t *testing.T) {
	dir := t.TempDir()
	var text strings.Builder
	for i := 0; text.Len() < 3*pipeline.StreamChunk; i++ {
		fmt.Fprintf(&text, "line %d of the corpus\n", i)
	}
	p := filepath.Join(dir, "corpus.txt")
	writeFile(t, p, text.String())
	src := pipeline.Source{Path: p, Stream: true}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{Kind: "char"})
	got, err := readAll(t, src)
	if err != nil {
		t.Fatal(err)
	}
	var joined strings.Builder
	for _, r := range got {
		joined.WriteString(r["text"].(string))
	}
	if len(got) < 3 || joined.String() != text.String() {
		t.Fatalf("%d chunks whose concatenation differs from the file", len(got))
	}
	v, _ := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{})
	if _, ok := v.Input.ID("\n"); !ok {
		t.Fatal("the line break is not a token")
	}
	d, _, err := pipeline.Cache{Dir: dir}.Prepare(src, &pipeline.Encoder{Tokenizer: tok, Vocabs: v}, 2)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	const B, T = 4, 35
	stream, err := pipeline.NewStream(d, B, T)
	if err != nil {
		t.Fatal(err)
	}
	n, offset := 0, 0
	streams := make([][]int32, B)
	var lastNext []int32
	for bt := range stream.Batches() {
		if bt.Offset != offset {
			t.Fatalf("batch %d starts at %d, want %d", n, bt.Offset, offset)
		}
		n++
		offset += bt.T
		for b := 0; b < B; b++ {
			if lastNext != nil && bt.IDs[b] != lastNext[b] {
				t.Fatal("a batch does not continue where the previous one stopped")
			}
			for s := 0; s < bt.T; s++ {
				streams[b] = append(streams[b], bt.IDs[s*B+b])
				if s+1 < bt.T && bt.Next[s*B+b] != bt.IDs[(s+1)*B+b] {
					t.Fatalf("Next at step %d is not the following input", s)
				}
			}
		}
		lastNext = make([]int32, B)
		for b := 0; b < B; b++ {
			lastNext[b] = bt.Next[(bt.T-1)*B+b]
		}
	}
	if n != stream.Len() {
		t.Errorf("%d batches, Len says %d", n, stream.Len())
	}
	var want []int32
	for _, ch := range strings.Split(text.String(), "") {
		id, _ := v.Input.ID(ch)
		want = append(want, id)
	}
	per := len(want) / B
	for b := 0; b < B; b++ {
		if !slices.Equal(streams[b], want[b*per:(b+1)*per-1]) {
			t.Fatalf("stream %d is not the %d-th quarter of the text", b, b)
		}
	}
	if stream.Tokens() != B*(per-1) {
		t.Errorf("Tokens %d, want %d", stream.Tokens(), B*(per-1))
	}

	// Every scores each token but the first, in order within each stream,
	// where Batches drops the stream ends and the remainder.
	if len(want)%B == 0 {
		t.Fatalf("the test text divides into %d streams: pick a length that does not", B)
	}
	byStream := make([][][2]int32, B)
	scored := 0
	for bt := range stream.Every() {
		for b := range B {
			for s := range bt.T {
				if y := bt.Next[s*B+b]; y >= 0 {
					byStream[b] = append(byStream[b], [2]int32{bt.IDs[s*B+b], y})
					scored++
				}
			}
		}
	}
	if scored != len(want)-1 {
		t.Errorf("Every scores %d tokens of %d, want all but the first", scored, len(want))
	}
	var pairs [][2]int32
	for b := range B {
		pairs = append(pairs, byStream[b]...)
	}
	for i, p := range pairs {
		if p != [2]int32{want[i], want[i+1]} {
			t.Fatalf("prediction %d is %v, want %v", i, p, [2]int32{want[i], want[i+1]})
		}
	}
}
