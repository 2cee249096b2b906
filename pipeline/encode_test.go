package pipeline_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/seqkit/seqkit/pipeline"
)

func TestTokenizers(t *testing.T) {
	cases := []struct {
		cfg  pipeline.TokenizerConfig
		in   string
		want []string
	}{
		{pipeline.TokenizerConfig{}, "  Arrive Taipei\ton  Nov 2nd ", []string{"Arrive", "Taipei", "on", "Nov", "2nd"}},
		{pipeline.TokenizerConfig{Lower: true}, "Arrive TAIPEI", []string{"arrive", "taipei"}},
		{pipeline.TokenizerConfig{Kind: "char"}, "añb", []string{"a", "ñ", "b"}},
		{pipeline.TokenizerConfig{Kind: "regex", Pattern: `\w+|[^\w\s]`}, "don't stop!", []string{"don", "'", "t", "stop", "!"}},
		// NFC composes n + combining tilde; NFKC also folds the ligature "ﬁ" to "fi".
		{pipeline.TokenizerConfig{Kind: "char", Normalize: "nfc"}, "n\u0303", []string{"ñ"}},
		{pipeline.TokenizerConfig{Normalize: "nfkc"}, "\ufb01ne", []string{"fine"}},
		{pipeline.TokenizerConfig{}, "\ufb01ne", []string{"\ufb01ne"}},
		// NFD splits a Hangul syllable into its letters (jamo) and an accented
		// letter into base and mark; NFKD also folds the ligature.
		{pipeline.TokenizerConfig{Kind: "char", Normalize: "nfd"}, "한글", []string{"\u1112", "\u1161", "\u11ab", "\u1100", "\u1173", "\u11af"}},
		{pipeline.TokenizerConfig{Kind: "char", Normalize: "nfd"}, "ñ", []string{"n", "\u0303"}},
		{pipeline.TokenizerConfig{Kind: "char", Normalize: "nfkd"}, "\ufb01é", []string{"f", "i", "e", "\u0301"}},
	}
	for _, c := range cases {
		tok, err := pipeline.NewTokenizer(c.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := tok.Tokens(nil, c.in); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%+v on %q = %q, want %q", c.cfg, c.in, got, c.want)
		}
	}
	// Compose writes decomposed text back as NFC: the letters a model
	// predicts join into the syllables a reader expects.
	dec := pipeline.TokenizerConfig{Kind: "char", Normalize: "nfd", Compose: true}
	tok, err := pipeline.NewTokenizer(dec)
	if err != nil {
		t.Fatal(err)
	}
	if got := dec.ComposeText(strings.Join(tok.Tokens(nil, "한글 café"), "")); got != "한글 café" {
		t.Errorf("composed %q (% x)", got, got)
	}
	if got := (pipeline.TokenizerConfig{Normalize: "nfd"}).ComposeText("\u1112\u1161\u11ab"); got != "\u1112\u1161\u11ab" {
		t.Errorf("without compose: %q", got)
	}
	for _, bad := range []pipeline.TokenizerConfig{{Kind: "bpe"}, {Kind: "regex"}, {Kind: "regex", Pattern: "("}, {Normalize: "nfx"}, {Normalize: "nfc", Compose: true}, {Compose: true}} {
		if _, err := pipeline.NewTokenizer(bad); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestVocab(t *testing.T) {
	c := pipeline.Counter{}
	c.Add("b", "a", "c", "a", "b", "a", "d", "<unk>")
	v := c.Build(pipeline.VocabConfig{MinFreq: 2})
	if want := []string{"<pad>", "<unk>", "<bos>", "<eos>", "a", "b"}; !reflect.DeepEqual(v.Tokens(), want) {
		t.Fatalf("tokens %q, want %q", v.Tokens(), want)
	}
	if v := c.Build(pipeline.VocabConfig{MaxSize: 5}); v.Len() != 5 || v.Token(4) != "a" {
		t.Fatalf("max size: %q", v.Tokens())
	}
	// Ties break in byte order: c, d (and <unk>, a special) after a, b.
	if got := c.Build(pipeline.VocabConfig{}).Tokens()[4:]; !reflect.DeepEqual(got, []string{"a", "b", "c", "d"}) {
		t.Fatalf("order %q", got)
	}
	path := filepath.Join(t.TempDir(), "vocab.txt")
	if err := v.Save(path); err != nil {
		t.Fatal(err)
	}
	back, err := pipeline.LoadVocab(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back.Tokens(), v.Tokens()) || !back.HasSpecials() {
		t.Fatalf("reloaded %q (specials %v), saved %q", back.Tokens(), back.HasSpecials(), v.Tokens())
	}
	// Line breaks and backslashes survive a round trip.
	odd := pipeline.Counter{"\n": 1, `\`: 1, `\n`: 1, "a\r\\": 1}.BuildLabels()
	if err := odd.Save(path); err != nil {
		t.Fatal(err)
	}
	if back, err := pipeline.LoadVocab(path, 0); err != nil || !reflect.DeepEqual(back.Tokens(), odd.Tokens()) {
		t.Fatalf("reloaded %q (%v), saved %q", back.Tokens(), err, odd.Tokens())
	}
	labels := pipeline.Counter{"O": 5, "B-loc": 2}.BuildLabels()
	if labels.HasSpecials() || labels.Token(0) != "O" {
		t.Fatalf("label vocab %q", labels.Tokens())
	}
	if _, ok := labels.ID("I-loc"); ok {
		t.Fatal("unknown label has an id")
	}
}

// TestEncode builds vocabularies from the train fixture and encodes a dev file
// with an unseen word, tag and label: the word becomes <unk>, the tag and label -1,
// and all three are counted.
func TestEncode(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{Lower: true})
	src := pipeline.Source{Path: "testdata/small.jsonl", Columns: pipeline.Columns{Tokens: "tokens", Tags: "tags", Label: "label"}}
	r, err := pipeline.Open(src, pipeline.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	v, err := pipeline.BuildVocabs(r, tok, pipeline.VocabConfig{})
	r.Release()
	if err != nil {
		t.Fatal(err)
	}
	if v.Input.Len() != 4+5 || v.Tags.Len() != 2 || v.Labels.Len() != 2 || v.Target != nil {
		t.Fatalf("vocab sizes %d %d %d", v.Input.Len(), v.Tags.Len(), v.Labels.Len())
	}
	dev := filepath.Join(t.TempDir(), "dev.jsonl")
	writeFile(t, dev, `{"tokens": "book a Train", "tags": "O O B-vehicle", "label": "ground"}`+"\n"+`{"tokens": "to taipei", "tags": "O B-toloc", "label": "flight"}`+"\n")
	r, err = pipeline.Open(pipeline.Source{Path: dev, Columns: src.Columns}, pipeline.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v, Mem: mem}
	var got []encRow
	st, err := enc.EncodeAll(r, 2, func(rec arrow.RecordBatch) error {
		got = append(got, encodedRows(rec)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	id := func(w string) int32 { i, _ := v.Input.ID(w); return i }
	tag := func(w string) int32 { i, _ := v.Tags.ID(w); return i }
	lab := func(w string) int32 { i, _ := v.Labels.ID(w); return i }
	want := []encRow{
		{1, []int32{id("book"), id("a"), pipeline.UnkID}, 3, []int32{tag("O"), tag("O"), -1}, -1},
		{2, []int32{id("to"), id("taipei")}, 2, []int32{tag("O"), tag("B-toloc")}, lab("flight")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("encoded\n%v\nwant\n%v", got, want)
	}
	if st.Rows != 2 || st.Tokens != 5 || st.UnknownTokens != 1 || st.UnknownTags["B-vehicle"] != 1 || st.UnknownLabels["ground"] != 1 {
		t.Fatalf("stats %+v", st)
	}
}

// encRow is one encoded example as the tests compare it.
type encRow struct {
	Row    int64
	IDs    []int32
	Length int32
	Tags   []int32
	Label  int32
}

func encodedRows(rec arrow.RecordBatch) []encRow {
	rows := make([]encRow, rec.NumRows())
	ints := func(l *array.List, i int) []int32 {
		s, e := l.ValueOffsets(i)
		return append([]int32{}, l.ListValues().(*array.Int32).Int32Values()[s:e]...)
	}
	for c, f := range rec.Schema().Fields() {
		col := rec.Column(c)
		for i := range rows {
			switch f.Name {
			case pipeline.RowField:
				rows[i].Row = col.(*array.Int64).Value(i)
			case pipeline.IDsField:
				rows[i].IDs = ints(col.(*array.List), i)
			case pipeline.LengthField:
				rows[i].Length = col.(*array.Int32).Value(i)
			case pipeline.TagsField:
				rows[i].Tags = ints(col.(*array.List), i)
			case pipeline.LabelField:
				rows[i].Label = col.(*array.Int32).Value(i)
			}
		}
	}
	return rows
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestEncodeAllOrder encodes 5000 examples in batches of 7 on 4 workers and checks
// that they come out in the order they were read, each encoded like the serial run.
func TestEncodeAllOrder(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var b strings.Builder
	for i := 0; i < 5000; i++ {
		fmt.Fprintf(&b, "w%d x%d y\n", i%97, i%13)
	}
	p := filepath.Join(t.TempDir(), "big.txt")
	writeFile(t, p, b.String())
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, err := pipeline.VocabsOf(pipeline.Source{Path: p}, tok, pipeline.VocabConfig{}, pipeline.WithAllocator(mem))
	if err != nil {
		t.Fatal(err)
	}
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v, Mem: mem}
	run := func(workers int) []encRow {
		r, _ := pipeline.Open(pipeline.Source{Path: p}, pipeline.WithAllocator(mem), pipeline.WithBatchRows(7))
		defer r.Release()
		var rows []encRow
		if _, err := enc.EncodeAll(r, workers, func(rec arrow.RecordBatch) error {
			rows = append(rows, encodedRows(rec)...)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return rows
	}
	serial, parallel := run(1), run(4)
	if len(parallel) != 5000 || !reflect.DeepEqual(serial, parallel) {
		t.Fatalf("parallel encoding differs from serial (%d rows)", len(parallel))
	}
	for i, rw := range parallel {
		if rw.Row != int64(i+1) {
			t.Fatalf("row %d came out at position %d", rw.Row, i)
		}
	}
	// An error from emit stops the work and is returned, with nothing leaked.
	r2, _ := pipeline.Open(pipeline.Source{Path: p}, pipeline.WithAllocator(mem), pipeline.WithBatchRows(7))
	defer r2.Release()
	n := 0
	_, err = enc.EncodeAll(r2, 4, func(arrow.RecordBatch) error {
		if n++; n == 3 {
			return errors.New("disk full")
		}
		return nil
	})
	if err == nil || err.Error() != "disk full" {
		t.Fatalf("error %v, want the emit error", err)
	}
}

// TestTargetTokenizer: a target tokenizer splits targets its own way (letters in,
// phones out) and cannot nest another.
func TestTargetTokenizer(t *testing.T) {
	tok, err := pipeline.NewTokenizer(pipeline.TokenizerConfig{Kind: "char", Target: &pipeline.TokenizerConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tok.Tokens(nil, "read"); strings.Join(got, "|") != "r|e|a|d" {
		t.Errorf("input tokens %q", got)
	}
	if got := tok.TargetTokens(nil, "R IY1 D"); strings.Join(got, "|") != "R|IY1|D" {
		t.Errorf("target tokens %q", got)
	}
	plain, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{Kind: "char"})
	if got := plain.TargetTokens(nil, "ab"); strings.Join(got, "|") != "a|b" {
		t.Errorf("without a target tokenizer, targets split like inputs: %q", got)
	}
	if _, err := pipeline.NewTokenizer(pipeline.TokenizerConfig{Target: &pipeline.TokenizerConfig{Target: &pipeline.TokenizerConfig{}}}); err == nil {
		t.Error("a nested target tokenizer was accepted")
	}
}

// TestEncodePlainText: plain white-space splitting of a text column, which
// looks tokens up by offset, encodes as the general path does (here through
// NFC normalisation, which changes none of these tokens): unicode spaces,
// unknown words, a long row, and tokens of 16 and 17 bytes, some at the end
// of the batch's text (where the lookup cannot load 16 bytes after a token).
// A slice of a record encodes as those rows of the whole.
func TestEncodePlainText(t *testing.T) {
	long := strings.Repeat("w1 w2\u00a0w3 ", 150)
	ends := strings.Repeat("sixteen-bytes-ab seventeen-bytes-a w1 ", 2)
	path := filepath.Join(t.TempDir(), "x.jsonl")
	writeFile(t, path, `{"text": "  fly to\u2003Boston  "}`+"\n"+`{"text": "unseen w1\tw2"}`+"\n"+`{"text": "`+long+`"}`+"\n"+`{"text": "   "}`+"\n"+
		`{"text": "`+ends+`"}`+"\n"+`{"text": "`+ends+`w2 sixteen-bytes-ab seventeen-bytes-a"}`+"\n")
	src := pipeline.Source{Path: path, Columns: pipeline.Columns{Text: "text"}}
	encode := func(cfg pipeline.TokenizerConfig) ([]encRow, pipeline.EncodeStats) {
		return encodeSliced(t, src, src, cfg)
	}
	plain, pst := encode(pipeline.TokenizerConfig{})
	general, gst := encode(pipeline.TokenizerConfig{Normalize: "nfc"})
	if !reflect.DeepEqual(plain, general) || pst.Tokens != gst.Tokens || pst.UnknownTokens != gst.UnknownTokens {
		t.Fatalf("plain path\n%v %+v\ngeneral path\n%v %+v", plain, pst, general, gst)
	}
	if plain[2].Length != 450 || plain[0].Length != 3 || plain[3].Length != 0 || plain[5].Length != 9 || pst.UnknownTokens != 4 {
		t.Errorf("lengths %d %d %d %d, unknown %d", plain[0].Length, plain[2].Length, plain[3].Length, plain[5].Length, pst.UnknownTokens)
	}
	if last := plain[5].IDs; last[7] != last[0] || last[8] != last[1] || last[0] == last[1] || last[0] == pipeline.UnkID || last[1] == pipeline.UnkID {
		t.Errorf("the last row's ids %v: want its last two tokens' ids as its first two's, known and distinct", last)
	}
}

// encodeSliced encodes src with vocabularies built from train (a minimum
// frequency of 2) on one worker, and checks that a slice of each record (all
// rows but its first and last) encodes as those rows of the whole.
func encodeSliced(t *testing.T, src, train pipeline.Source, cfg pipeline.TokenizerConfig) ([]encRow, pipeline.EncodeStats) {
	t.Helper()
	tok, _ := pipeline.NewTokenizer(cfg)
	r, err := pipeline.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	vr, err := pipeline.Open(train)
	if err != nil {
		t.Fatal(err)
	}
	v, err := pipeline.BuildVocabs(vr, tok, pipeline.VocabConfig{MinFreq: 2})
	vr.Release()
	if err != nil {
		t.Fatal(err)
	}
	var rows []encRow
	enc := &pipeline.Encoder{Tokenizer: tok, Vocabs: v}
	st, err := enc.EncodeAll(r, 1, func(rec arrow.RecordBatch) error {
		rows = append(rows, encodedRows(rec)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	r2, _ := pipeline.Open(src)
	defer r2.Release()
	for r2.Next() {
		rec := r2.RecordBatch()
		part := rec.NewSlice(1, rec.NumRows()-1)
		out, _, err := enc.Encode(part)
		part.Release()
		if err != nil {
			t.Fatal(err)
		}
		if got, want := encodedRows(out), rows[1:rec.NumRows()-1]; !reflect.DeepEqual(got, want) {
			t.Errorf("a slice of the record encodes as\n%v\nnot as the rows of the whole\n%v", got, want)
		}
		out.Release()
	}
	return rows, st
}

// TestEncodeTokenLists: a CoNLL file's words, looked up by their offsets in
// the list's values when the tokenizer leaves them as they are, encode as
// through NFC normalisation (which changes none of them); so do its tags,
// unknown ones (only in the encoded file) counted and encoded as -1.
func TestEncodeTokenLists(t *testing.T) {
	dir := t.TempDir()
	train, dev := filepath.Join(dir, "train.conll"), filepath.Join(dir, "dev.conll")
	sent := "fly O\nto O\nBoston B-city\nsixteen-bytes-ab B-a\nseventeen-bytes-a I-a\nné O\n\n"
	writeFile(t, train, sent+sent)
	writeFile(t, dev, "unseen O\nBoston B-city\n\n"+sent+"Boston B-new\nsixteen-bytes-ab B-a\nseventeen-bytes-a I-a\nto B-new\n\n"+sent)
	src := pipeline.Source{Path: dev, Format: "conll", Columns: pipeline.Columns{Tokens: "1", Tags: "2"}}
	trainSrc := src
	trainSrc.Path = train
	plain, pst := encodeSliced(t, src, trainSrc, pipeline.TokenizerConfig{})
	general, gst := encodeSliced(t, src, trainSrc, pipeline.TokenizerConfig{Normalize: "nfc"})
	if !reflect.DeepEqual(plain, general) || !reflect.DeepEqual(pst, gst) {
		t.Fatalf("listed path\n%v %+v\ngeneral path\n%v %+v", plain, pst, general, gst)
	}
	if pst.UnknownTokens != 1 || pst.UnknownTags["B-new"] != 2 || len(pst.UnknownTags) != 1 {
		t.Errorf("unknown tokens %d, tags %v", pst.UnknownTokens, pst.UnknownTags)
	}
	if got := plain[2].Tags; got[0] != -1 || got[3] != -1 || got[1] != plain[1].Tags[3] || got[2] != plain[1].Tags[4] || got[1] == got[2] {
		t.Errorf("the third sentence's tags %v: want -1 for B-new, and the second sentence's B-a, I-a", got)
	}
}
