package tagging

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/seqkit/seqkit/onnx/onnxtest"
	"github.com/seqkit/seqkit/tasks/tasktest"
)

// firstSentences copies the first n blank-line-separated sentences of a
// CoNLL file.
func firstSentences(t *testing.T, src, dst string, n int) string {
	f, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var b strings.Builder
	sc := bufio.NewScanner(f)
	for sc.Scan() && n > 0 {
		b.WriteString(sc.Text() + "\n")
		if strings.TrimSpace(sc.Text()) == "" {
			n--
		}
	}
	if err := os.WriteFile(dst, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

// TestONNXParity exports small trained taggers and runs them in ONNX Runtime
// on batches of their test split: atis-joint (characters, CRF with the IOB2
// constraints, attention-pooled intent head), conll2000-chunk (characters and
// the POS feature column) and taipei with a softmax head. Emissions, CRF
// scores and label logits must be seqkit's within 1e-5, and Viterbi over the
// exported scores, by the rule ExportONNX documents, must find seqkit's paths.
func TestONNXParity(t *testing.T) {
	onnxtest.Need(t)
	small := []string{"model.hidden=16", "model.embedding=16", "train.epochs=1"}
	cases := []struct {
		name string
		sets func(t *testing.T, tmp string) (recipe string, sets []string)
	}{
		{"atis-joint", func(t *testing.T, tmp string) (string, []string) {
			dir := tasktest.NeedData(t, "atis")
			var sets []string
			for _, s := range [][2]string{{"train", "train"}, {"dev", "valid"}, {"test", "test"}} {
				for key, file := range map[string]string{"tokens": "seq.in", "tags": "seq.out", "label": "label"} {
					p := tasktest.Slice(t, filepath.Join(dir, s[1], file), tmp, s[0]+"."+file, 10, 0)
					sets = append(sets, fmt.Sprintf("data.%s.files.%s=%s", s[0], key, p))
				}
			}
			return "atis-joint", sets
		}},
		{"conll2000-chunk", func(t *testing.T, tmp string) (string, []string) {
			dir := tasktest.NeedData(t, "conll2000")
			train := firstSentences(t, filepath.Join(dir, "train.txt"), filepath.Join(tmp, "train.txt"), 600)
			test := firstSentences(t, filepath.Join(dir, "test.txt"), filepath.Join(tmp, "test.txt"), 100)
			return "conll2000-chunk", []string{"data.train.path=" + train, "data.test.path=" + test}
		}},
		{"taipei-softmax", func(t *testing.T, tmp string) (string, []string) {
			return "taipei", []string{"task.head=softmax"}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			recipe, sets := c.sets(t, t.TempDir())
			run := onnxtest.Trained(t, Type(), recipe, append(sets, small...)...)
			task := run.Task.(*Task)
			batches := onnxtest.TestBatches(t, run, 3)
			var feeds []map[string]onnxtest.Value
			for _, b := range batches {
				feeds = append(feeds, onnxtest.Feeds(b))
			}
			got := onnxtest.Run(t, onnxtest.Export(t, task)[""], feeds...)
			C := len(task.model)
			for i, b := range batches {
				out := got.Runs[i]
				em, lg := task.scores(b)
				valid := func(k int) bool { return k/C/b.B < b.Lengths[k/C%b.B] }
				onnxtest.Near(t, "emissions", out["emissions"], em.Data, valid)
				if lg != nil {
					onnxtest.Near(t, "label_logits", out["label_logits"], lg.Data, nil)
				}
				if task.crf == nil {
					continue
				}
				if i == 0 {
					onnxtest.Near(t, "transitions", out["transitions"], masked(task.crf.Trans.Data, task.allowed.Trans), nil)
					onnxtest.Near(t, "start_transitions", out["start_transitions"], masked(task.crf.Start.Data, task.allowed.StartOK), nil)
					onnxtest.Near(t, "end_transitions", out["end_transitions"], masked(task.crf.End.Data, task.allowed.EndOK), nil)
				}
				want := task.decode(em, b.Lengths, 1)
				for j := range b.B {
					path := viterbi(out, b.T, b.B, C, j, b.Lengths[j])
					if len(want[j]) == 0 || !slices.Equal(path, want[j][0].Tags) {
						t.Fatalf("sequence %d: Viterbi over the exported scores finds %v, seqkit %v", j, path, want[j])
					}
				}
			}
		})
	}
}

func masked(x []float32, ok []bool) []float32 {
	out := slices.Clone(x)
	for i := range out {
		if ok != nil && !ok[i] {
			out[i] = float32(math.Inf(-1))
		}
	}
	return out
}

// viterbi decodes sequence j of the exported outputs by the rule ExportONNX
// documents.
func viterbi(out map[string]onnxtest.Value, T, B, C, j, L int) []int32 {
	em := func(t, c int) float64 { return float64(out["emissions"].Data[(t*B+j)*C+c]) }
	trans, start, end := out["transitions"].Data, out["start_transitions"].Data, out["end_transitions"].Data
	score := make([]float64, C)
	for c := range C {
		score[c] = float64(start[c]) + em(0, c)
	}
	back := make([][]int32, L)
	for t := 1; t < L; t++ {
		next := make([]float64, C)
		back[t] = make([]int32, C)
		for c := range C {
			best, arg := math.Inf(-1), 0
			for p := range C {
				if s := score[p] + float64(trans[p*C+c]); s > best {
					best, arg = s, p
				}
			}
			next[c], back[t][c] = best+em(t, c), int32(arg)
		}
		score = next
	}
	best := 0
	for c := range C {
		if score[c]+float64(end[c]) > score[best]+float64(end[best]) {
			best = c
		}
	}
	path := make([]int32, L)
	path[L-1] = int32(best)
	for t := L - 1; t > 0; t-- {
		path[t-1] = back[t][path[t]]
	}
	return path
}
