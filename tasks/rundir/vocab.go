package rundir

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/seqkit/seqkit/pipeline"
)

// vocabFile is the file of a vocabulary slot in vocab/: input.txt, tags.txt, …
func vocabFile(s pipeline.VocabSlot) string { return s.Name + ".txt" }

// SaveVocabs writes each vocabulary of v into dir, one token per line. The
// folder appears whole or not at all: a run killed between two files must not
// leave an input vocabulary without its tags.
func SaveVocabs(dir string, v pipeline.Vocabs) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	return WriteDir(dir, func(tmp string) error {
		for _, s := range v.Slots() {
			if *s.Vocab != nil {
				if err := (*s.Vocab).Save(filepath.Join(tmp, vocabFile(s))); err != nil {
					return err
				}
			}
		}
		if v.Vector > 0 {
			return pipeline.WriteFileAtomic(filepath.Join(tmp, vectorFile), []byte(strconv.Itoa(v.Vector)+"\n"))
		}
		return nil
	})
}

// vectorFile holds the length of the vector column, when the data has one.
const vectorFile = "vector.txt"

// LoadVocabs reads what SaveVocabs wrote, each file bounded by lim.MaxVocab;
// fs.ErrNotExist when dir has no input vocabulary.
func LoadVocabs(dir string, lim pipeline.Limits) (pipeline.Vocabs, error) {
	var v pipeline.Vocabs
	for i, s := range v.Slots() {
		p := filepath.Join(dir, vocabFile(s))
		voc, err := pipeline.LoadVocab(p, lim.MaxVocab)
		if errors.Is(err, fs.ErrNotExist) {
			if i == 0 {
				return v, err
			}
			continue
		}
		if err != nil {
			return v, err
		}
		*s.Vocab = voc
	}
	b, err := pipeline.ReadFileLimited(filepath.Join(dir, vectorFile), 64)
	if errors.Is(err, fs.ErrNotExist) {
		return v, nil
	}
	if err != nil {
		return v, err
	}
	if v.Vector, err = strconv.Atoi(strings.TrimSpace(string(b))); err != nil || v.Vector <= 0 {
		return v, fmt.Errorf("%s: want the length of the vector column, a positive number", filepath.Join(dir, vectorFile))
	}
	return v, nil
}

// vocabSumsFile, in a checkpoint folder, records the hashes of the
// vocabularies its weights were trained with: a vocabulary file edited,
// reordered or swapped afterwards would map ids to the wrong tokens silently.
const vocabSumsFile = "vocab.sha256.json"

// VocabSums hashes each vocabulary of v by its entries in id order, keyed by
// its file name in vocab/.
func VocabSums(v pipeline.Vocabs) map[string]string {
	sums := map[string]string{}
	for _, s := range v.Slots() {
		voc := *s.Vocab
		if voc == nil {
			continue
		}
		h := sha256.New()
		for id := range voc.Len() {
			h.Write([]byte(voc.Token(int32(id))))
			h.Write([]byte{0})
		}
		sums[vocabFile(s)] = hex.EncodeToString(h.Sum(nil))
	}
	if v.Vector > 0 {
		sums[vectorFile] = strconv.Itoa(v.Vector)
	}
	return sums
}

// WriteVocabSums records the vocabularies of v in checkpoint folder dir.
func WriteVocabSums(dir string, v pipeline.Vocabs) error {
	b, err := json.MarshalIndent(VocabSums(v), "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(dir, vocabSumsFile), append(b, '\n'))
}

// CheckVocabSums refuses to load checkpoint folder ckpt with vocabularies
// other than those it was trained with. A checkpoint of a seqkit before the
// record is taken as it is.
func CheckVocabSums(ckpt string, v pipeline.Vocabs) error {
	b, err := pipeline.ReadFileLimited(filepath.Join(ckpt, vocabSumsFile), 1<<16)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var want map[string]string
	if err := json.Unmarshal(b, &want); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrRunDir, filepath.Join(ckpt, vocabSumsFile), err)
	}
	got := VocabSums(v)
	names := []string{vectorFile}
	for _, s := range v.Slots() {
		names = append(names, vocabFile(s))
	}
	for _, name := range names {
		if want[name] != got[name] {
			return fmt.Errorf("%w: vocab/%s is not the vocabulary %s was trained with (an entry was edited, moved or swapped, or the file added or removed): restore the run's own vocab/, or train again", ErrRunDir, name, ckpt)
		}
	}
	return nil
}
