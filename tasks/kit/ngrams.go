package kit

import (
	"math/rand/v2"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
)

// NGramLayer is a linear model over the hashed 1- to N-grams of each sequence,
// whose output is added to a head's logits: the "wide" half of a wide-and-deep
// classifier. Bags of n-grams are strong on short-text classification (Wang and
// Manning 2012), and the recurrent encoder learns what they miss.
type NGramLayer struct {
	// Bag sums (not averages) the n-grams' weights: as in naive Bayes each
	// n-gram adds its own evidence; a mean dilutes it by the sentence length so
	// much that the layer learns slowly beside the encoder.
	Bag        *nn.EmbeddingBag[float32]
	N, Buckets int
	// Dropout leaves each n-gram out of its bag with this probability in
	// training, so the layer cannot simply memorise the training sentences.
	Dropout float64
}

// NewNGramLayer returns a layer of n-grams up to n hashed into buckets, with
// outputs weights starting at zero.
func NewNGramLayer(name string, n, buckets int, dropout float64, outputs int) *NGramLayer {
	bag := nn.NewEmbeddingBag[float32](name, buckets, outputs, 0, nil)
	bag.Sum = true
	return &NGramLayer{Bag: bag, N: n, Buckets: buckets, Dropout: dropout}
}

// Params returns the weights.
func (g *NGramLayer) Params() []*nn.Tensor[float32] { return g.Bag.Params() }

// Forward returns [B, outputs]; rng, in training, drives the n-gram dropout.
func (g *NGramLayer) Forward(tp *nn.Tape, b *pipeline.Batch, rng *rand.Rand) *nn.Tensor[float32] {
	ids, offsets := NGrams(b, g.N, g.Buckets)
	if rng != nil && g.Dropout > 0 {
		ids, offsets = dropNGrams(ids, offsets, g.Dropout, rng)
	}
	return g.Bag.Forward(tp, ids, offsets)
}

// NGrams hashes the 1- to n-grams of each sequence of the batch, with <bos> and
// <eos> around it, into [0, buckets): the bags of an EmbeddingBag.
func NGrams(b *pipeline.Batch, n, buckets int) (ids []int32, offsets []int) {
	offsets = make([]int, 1, b.B+1)
	seq := make([]uint64, 0, b.T+2)
	for j := range b.B {
		seq = append(seq[:0], uint64(pipeline.BOSID))
		for i := range b.Lengths[j] {
			seq = append(seq, uint64(b.IDs[i*b.B+j]))
		}
		seq = append(seq, uint64(pipeline.EOSID))
		for start := range seq {
			h := uint64(14695981039346656037) // FNV-1a offset basis, word-wise
			for k := 0; k < n && start+k < len(seq); k++ {
				h = (h ^ seq[start+k]) * 1099511628211
				if k == 0 && (start == 0 || start == len(seq)-1) {
					continue // <bos> and <eos> alone say nothing
				}
				ids = append(ids, int32(mix(h+uint64(k))%uint64(buckets)))
			}
		}
		offsets = append(offsets, len(ids))
	}
	return ids, offsets
}

// dropNGrams leaves each id out with probability p, keeping at least one per bag.
func dropNGrams(ids []int32, offsets []int, p float64, rng *rand.Rand) ([]int32, []int) {
	kept, koff := make([]int32, 0, len(ids)), make([]int, 1, len(offsets))
	for b := 0; b+1 < len(offsets); b++ {
		bag := ids[offsets[b]:offsets[b+1]]
		start := len(kept)
		for _, id := range bag {
			if rng.Float64() >= p {
				kept = append(kept, id)
			}
		}
		if len(kept) == start && len(bag) > 0 {
			kept = append(kept, bag[rng.IntN(len(bag))])
		}
		koff = append(koff, len(kept))
	}
	return kept, koff
}

// mix is the finaliser of SplitMix64: FNV's low bits are poor for a modulus.
func mix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}
