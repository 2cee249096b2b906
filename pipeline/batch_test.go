package pipeline_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
)

// lengthsDataset prepares n examples of random lengths 1 to 40: token i is "t<i>"
// and every tag of the example on row r is "g<(r-2) mod 3>", so a batch's layout
// can be checked against its rows.
func lengthsDataset(t *testing.T, n int) (*pipeline.Dataset, *pipeline.Vocabs) {
	t.Helper()
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 1))
	var b strings.Builder
	b.WriteString("tokens\ttags\n")
	for r := 0; r < n; r++ {
		l := 1 + rng.IntN(40)
		var toks, tags []string
		for i := 0; i < l; i++ {
			toks = append(toks, fmt.Sprintf("t%d", i))
			tags = append(tags, fmt.Sprintf("g%d", r%3))
		}
		fmt.Fprintf(&b, "%s\t%s\n", strings.Join(toks, " "), strings.Join(tags, " "))
	}
	p := filepath.Join(dir, "data.tsv")
	writeFile(t, p, b.String())
	src := pipeline.Source{Path: p, Columns: pipeline.Columns{Tokens: "tokens", Tags: "tags"}}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{})
	if err != nil {
		t.Fatal(err)
	}
	d, _, err := pipeline.Cache{Dir: dir}.Prepare(src, &pipeline.Encoder{Tokenizer: tok, Vocabs: v}, 2, pipeline.WithBatchRows(64))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, &v
}

func TestBatcher(t *testing.T) {
	d, v := lengthsDataset(t, 1000)
	tID := func(i int) int32 { id, _ := v.Input.ID(fmt.Sprintf("t%d", i)); return id }
	padding := func(cfg pipeline.BatchConfig) float64 {
		bt, err := pipeline.NewBatcher(d, cfg)
		if err != nil {
			t.Fatal(err)
		}
		var rows []int64
		var real, total int
		for batch := range bt.Epoch(0) {
			if cfg.MaxTokens > 0 && batch.B > 1 && batch.B*batch.T > cfg.MaxTokens {
				t.Fatalf("batch of %d × %d exceeds max_tokens %d", batch.B, batch.T, cfg.MaxTokens)
			}
			if cfg.MaxTokens == 0 && batch.B > cfg.Size {
				t.Fatalf("batch of %d, size %d", batch.B, cfg.Size)
			}
			rows = append(rows, batch.Rows...)
			for b := 0; b < batch.B; b++ {
				for tt := 0; tt < batch.T; tt++ {
					id, tag := batch.IDs[tt*batch.B+b], batch.Tags[tt*batch.B+b]
					if tt < batch.Lengths[b] {
						if id != tID(tt) {
							t.Fatalf("row %d step %d: id %d, want %d", batch.Rows[b], tt, id, tID(tt))
						}
						if want, _ := v.Tags.ID(fmt.Sprintf("g%d", (batch.Rows[b]-2)%3)); tag != want {
							t.Fatalf("row %d step %d: tag %d, want %d", batch.Rows[b], tt, tag, want)
						}
						real++
					} else if id != pipeline.PadID || tag != -1 {
						t.Fatalf("padding at row %d step %d: id %d tag %d", batch.Rows[b], tt, id, tag)
					}
					total++
				}
			}
		}
		slices.Sort(rows)
		for i, r := range rows {
			if r != int64(i+2) { // rows 2..1001: line 1 is the header
				t.Fatalf("epoch holds rows %v…, want each of 2..1001 once", rows[:min(10, len(rows))])
			}
		}
		return 1 - float64(real)/float64(total)
	}
	plain := padding(pipeline.BatchConfig{Size: 32, Shuffle: true, Seed: 3})
	bucketed := padding(pipeline.BatchConfig{Size: 32, Shuffle: true, Seed: 3, Bucket: true})
	budget := padding(pipeline.BatchConfig{MaxTokens: 500, Shuffle: true, Seed: 3, Bucket: true})
	t.Logf("padding share: plain %.3f, bucketed %.3f, max_tokens %.3f", plain, bucketed, budget)
	if bucketed > plain/4 {
		t.Errorf("bucketing left %.3f padding, plain batches %.3f", bucketed, plain)
	}
}

func TestBatcherOrder(t *testing.T) {
	d, _ := lengthsDataset(t, 300)
	order := func(cfg pipeline.BatchConfig, epoch int) []int64 {
		bt, _ := pipeline.NewBatcher(d, cfg)
		var rows []int64
		for b := range bt.Epoch(epoch) {
			rows = append(rows, b.Rows...)
		}
		return rows
	}
	cfg := pipeline.BatchConfig{Size: 16, Shuffle: true, Seed: 7, Bucket: true}
	if !slices.Equal(order(cfg, 1), order(cfg, 1)) {
		t.Fatal("the same seed and epoch gave different orders")
	}
	if slices.Equal(order(cfg, 1), order(cfg, 2)) {
		t.Fatal("two epochs gave the same order")
	}
	if rows := order(pipeline.BatchConfig{Size: 16}, 0); !slices.IsSorted(rows) {
		t.Fatal("without shuffle the order is not the file order")
	}
}

func TestBatcherMaxLen(t *testing.T) {
	d, _ := lengthsDataset(t, 500)
	long := 0
	all, _ := pipeline.NewBatcher(d, pipeline.BatchConfig{})
	for b := range all.Epoch(0) {
		for _, l := range b.Lengths {
			if l > 10 {
				long++
			}
		}
	}
	trunc, _ := pipeline.NewBatcher(d, pipeline.BatchConfig{MaxLen: 10})
	for b := range trunc.Epoch(0) {
		if b.T > 10 {
			t.Fatalf("truncated batch has T = %d", b.T)
		}
	}
	rej, _ := pipeline.NewBatcher(d, pipeline.BatchConfig{MaxLen: 10, Reject: true})
	if trunc.Truncated() != long || trunc.Len() != 500 || rej.Rejected() != long || rej.Len() != 500-long {
		t.Fatalf("%d longer than 10: truncated %d (of %d), rejected %d (kept %d)", long, trunc.Truncated(), trunc.Len(), rej.Rejected(), rej.Len())
	}
}

func TestRatioSplit(t *testing.T) {
	s := pipeline.RatioSplit{Ratios: []float64{0.8, 0.1, 0.1}, Seed: 42}
	counts := make([]int, 3)
	for r := int64(0); r < 100000; r++ {
		counts[s.Part(r)]++
	}
	for i, want := range []float64{80000, 10000, 10000} {
		if math.Abs(float64(counts[i])-want) > 600 {
			t.Errorf("part %d has %d rows, want about %.0f", i, counts[i], want)
		}
	}
	other := pipeline.RatioSplit{Ratios: s.Ratios, Seed: 43}
	same := 0
	for r := int64(0); r < 1000; r++ {
		if s.Part(r) == other.Part(r) {
			same++
		}
	}
	if same > 750 {
		t.Errorf("another seed kept %d of 1000 assignments", same)
	}
}

// TestBatchChars checks that the character ids of every token reach the batch:
// spelled back through the character vocabulary they give the token.
func TestBatchChars(t *testing.T) {
	src := pipeline.Source{Path: "testdata/small.conll"}
	tok, _ := pipeline.NewTokenizer(pipeline.TokenizerConfig{})
	v, err := pipeline.VocabsOf(src, tok, pipeline.VocabConfig{Chars: true})
	if err != nil {
		t.Fatal(err)
	}
	if v.Chars == nil || !v.Chars.HasSpecials() {
		t.Fatal("no character vocabulary")
	}
	ds, _, err := pipeline.Cache{Dir: t.TempDir()}.Prepare(src, &pipeline.Encoder{Tokenizer: tok, Vocabs: v}, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer ds.Close()
	bt, err := pipeline.NewBatcher(ds, pipeline.BatchConfig{Size: 2, MaxLen: 3})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for b := range bt.Epoch(0) {
		for tt := range b.T {
			for j := range b.B {
				cs := b.Chars[tt*b.B+j]
				if tt >= b.Lengths[j] {
					if cs != nil {
						t.Errorf("characters at padding")
					}
					continue
				}
				var word strings.Builder
				for _, c := range cs {
					word.WriteString(v.Chars.Token(c))
				}
				if got, want := word.String(), v.Input.Token(b.IDs[tt*b.B+j]); got != want {
					t.Errorf("token %q spelled %q", want, got)
				}
				n++
			}
		}
	}
	if n == 0 {
		t.Fatal("no tokens")
	}
}
