package rundir

import (
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
