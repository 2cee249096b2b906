package kit

import (
	"slices"
	"testing"

	"github.com/seqkit/seqkit/pipeline"
)

// TestNGrams: each sequence of length L gives L unigrams and L+1 bigrams (with
// <bos> and <eos>), the same n-gram hashes alike in any sequence, and order
// matters.
func TestNGrams(t *testing.T) {
	// Time-major [T=3, B=3]: "5 6 7", "7 6 5" and "5".
	b := &pipeline.Batch{T: 3, B: 3, Lengths: []int{3, 3, 1}, IDs: []int32{
		5, 7, 5,
		6, 6, pipeline.PadID,
		7, 5, pipeline.PadID,
	}}
	ids, offsets := NGrams(b, 2, 1<<10)
	if want := []int{0, 7, 14, 17}; !slices.Equal(offsets, want) {
		t.Fatalf("offsets %v, want %v", offsets, want)
	}
	for _, id := range ids {
		if id < 0 || id >= 1<<10 {
			t.Fatalf("id %d outside the buckets", id)
		}
	}
	first, second := ids[0:7], ids[7:14]
	// Unigrams of a sequence are the same set as those of its reverse.
	if !slices.Contains(second, first[1]) { // "5" (after <bos>) and "5" at the end
		t.Errorf("unigram 5 hashes differently in two sequences: %v %v", first, second)
	}
	sortedA, sortedB := slices.Sorted(slices.Values(first)), slices.Sorted(slices.Values(second))
	if slices.Equal(sortedA, sortedB) {
		t.Errorf("'5 6 7' and '7 6 5' have the same bigram bag %v", sortedA)
	}
	uni, _ := NGrams(b, 1, 1<<10)
	if len(uni) != 7 {
		t.Errorf("%d unigrams, want 7", len(uni))
	}
}
