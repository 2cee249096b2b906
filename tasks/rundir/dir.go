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

// lockFile is held (flock) by the process that uses a run directory.
const lockFile = ".lock"

// lockRunDir takes the run directory for this process: a second seqkit
// training, resuming or evaluating into the same folder would interleave its
// checkpoints and metrics with the first one's. The lock goes with the process,
// so a killed run leaves none behind.
func lockRunDir(dir string) (unlock func(), err error) {
	f, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := lockExclusive(f); err != nil {
		f.Close()
		if errors.Is(err, errLocked) {
			return nil, fmt.Errorf("%w %s is in use by another seqkit process; wait for it, or choose another -o", ErrRunDir, dir)
		}
		return nil, err
	}
	return func() { f.Close() }, nil
}

var errLocked = errors.New("locked")

// runFile reports a name that seqkit writes at the top of a run directory, the
// only ones --force deletes.
func runFile(name string) bool {
	switch name {
	case RecipeFile, MetricsFile, ReportFile, PredictionsFile, SamplesFile,
		"checkpoints", "vocab", "data", "cache", "loss.png", "dev.png", "confusion.png":
		return true
	}
	for _, pattern := range []string{"rejects.*.txt", "attention-*.png"} {
		if ok, _ := filepath.Match(pattern, name); ok {
			return true
		}
	}
	return false
}

// isTemp reports a file or folder that seqkit writes before renaming it into
// place (WriteFileAtomic's .NAME.tmpRANDOM, checkpoints/last.tmp, …).
func isTemp(name string) bool { return strings.Contains(name, ".tmp") }

// RemoveTemps deletes what a killed run was writing in its run directory: none
// of it was complete, and none of it is ever read.
func RemoveTemps(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != dir && isTemp(d.Name()) {
			if err := os.RemoveAll(p); err != nil {
				return err
			}
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
}

// vocabSumsFile, in a checkpoint folder, records the hashes of the
// vocabularies its weights were trained with: a vocabulary file edited,
// reordered or swapped afterwards would map ids to the wrong tokens silently.
const vocabSumsFile = "vocab.sha256.json"

// vocabSums hashes each vocabulary of v by its entries in id order, keyed by
// its file name in vocab/.
func vocabSums(v pipeline.Vocabs) map[string]string {
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
	b, err := json.MarshalIndent(vocabSums(v), "", "  ")
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
	got := vocabSums(v)
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
