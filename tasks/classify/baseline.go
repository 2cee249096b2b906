package classify

import (
	"fmt"
	"math"
	"path/filepath"
	"strconv"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
)

// bigramBuckets is the number of hashed bigram features of the baseline.
const bigramBuckets = 1 << 14

// baseline is what the recipe compares the network with: the majority class, and
// multinomial naive Bayes over hashed token bigrams (with sequence boundaries),
// both fitted on the training data as the first epoch streams past.
type baseline struct {
	counts *nn.Tensor[float32] // [classes, buckets] bigram counts, then class counts in the last row
	seen   int
	rows   int // training examples; the baseline is complete once seen reaches it
	done   bool
	C      int
}

func newBaseline(classes int) *baseline {
	t := nn.NewTensor[float32](classes+1, bigramBuckets)
	t.Name = "baseline.counts"
	return &baseline{counts: t, C: classes}
}

func bigrams(b *pipeline.Batch, j int, emit func(h int)) {
	prev := uint32(pipeline.BOSID)
	for i := 0; i <= b.Lengths[j]; i++ {
		cur := uint32(pipeline.EOSID)
		if i < b.Lengths[j] {
			cur = uint32(b.IDs[i*b.B+j])
		}
		h := (prev*2654435761 ^ cur*40503) % bigramBuckets
		emit(int(h))
		prev = cur
	}
}

func (bl *baseline) observe(b *pipeline.Batch, classesOf func(int32) []int) {
	classRow := bl.counts.Data[bl.C*bigramBuckets:]
	for j := range b.B {
		for _, c := range classesOf(b.Labels[j]) {
			classRow[c]++
			row := bl.counts.Data[c*bigramBuckets : (c+1)*bigramBuckets]
			bigrams(b, j, func(h int) { row[h]++ })
		}
		bl.seen++
	}
	if bl.rows > 0 && bl.seen >= bl.rows {
		bl.done = true
	}
}

// predict returns the majority class and the naive-Bayes class of row j.
func (bl *baseline) predict(b *pipeline.Batch, j int) (majority, bigram int) {
	classRow := bl.counts.Data[bl.C*bigramBuckets:]
	var feats []int
	bigrams(b, j, func(h int) { feats = append(feats, h) })
	best := math.Inf(-1)
	for c := range bl.C {
		if classRow[c] > classRow[majority] {
			majority = c
		}
		if classRow[c] == 0 {
			continue
		}
		row := bl.counts.Data[c*bigramBuckets : (c+1)*bigramBuckets]
		total := 0.0
		for _, v := range row {
			total += float64(v)
		}
		s := math.Log(float64(classRow[c]))
		for _, h := range feats {
			s += math.Log((float64(row[h]) + 1) / (total + bigramBuckets))
		}
		if s > best {
			best, bigram = s, c
		}
	}
	return majority, bigram
}

func (bl *baseline) save(dir string) error {
	return nn.SaveSafetensors(filepath.Join(dir, "baseline.safetensors"), []*nn.Tensor[float32]{bl.counts},
		map[string]string{"seen": strconv.Itoa(bl.seen)})
}

func (bl *baseline) load(dir string) error {
	meta, err := nn.LoadSafetensors(filepath.Join(dir, "baseline.safetensors"), []*nn.Tensor[float32]{bl.counts})
	if err != nil {
		return err
	}
	if bl.seen, err = strconv.Atoi(meta["seen"]); err != nil {
		return fmt.Errorf("classify: %s: baseline metadata: %w", filepath.Join(dir, "baseline.safetensors"), err)
	}
	bl.done = bl.rows > 0 && bl.seen >= bl.rows
	return nil
}
