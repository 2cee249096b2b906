package rundir

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/seqkit/seqkit/pipeline"
)

// The files of a folder of seeds (seqkit run --seeds N): one run directory per
// seed, SeedDir(i), beside the summary.
const (
	SeedsFile   = "seeds.json" // the summary, written after every finished seed
	ResultsFile = "results.json"
)

// SeedDir is the run directory of the i-th seed (from 1) in a folder of seeds.
func SeedDir(dir string, i int) string { return filepath.Join(dir, fmt.Sprintf("seed-%d", i)) }

// Results is what a finished run measured, in its results.json: what a
// summary over seeds reads back from a run finished before an interruption.
type Results struct {
	Task     string `json:"task"`   // the task's name (a plugin's own)
	Metric   string `json:"metric"` // its main metric
	Seed     uint64 `json:"seed"`
	Steps    int    `json:"steps"`
	Epochs   int    `json:"epochs"`
	BestStep int    `json:"best_step"`
	Averaged int    `json:"averaged,omitempty"` // the best is the average of this many evaluations' weights
	// StillImproving: the last evaluation was the best, at the end of the
	// epoch budget.
	StillImproving bool    `json:"still_improving,omitempty"`
	Seconds        float64 `json:"seconds"`
	Dev            Metrics `json:"dev,omitempty"`
	Test           Metrics `json:"test,omitempty"`
}

// ReadResults reads a run's results.json.
func ReadResults(dir string) (Results, error) {
	var r Results
	return r, readJSON(filepath.Join(dir, ResultsFile), 16<<20, &r)
}

// readJSON reads a JSON file of at most limit bytes into v.
func readJSON(p string, limit int64, v any) error {
	b, err := pipeline.ReadFileLimited(p, limit)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("%s: %w", p, err)
	}
	return nil
}

// WriteResults writes a run's results.json.
func WriteResults(dir string, r Results) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(dir, ResultsFile), append(b, '\n'))
}

// Stat summarises one metric over runs. Std is the sample standard deviation
// (n − 1 in the denominator, 0 for one run), as results over seeds are
// reported.
type Stat struct {
	Mean float64 `json:"mean"`
	Std  float64 `json:"std"`
	Min  float64 `json:"min"`
	Max  float64 `json:"max"`
	N    int     `json:"n"`
}

// Summarize gives the statistics of every metric that all of ms report.
func Summarize(ms []Metrics) map[string]Stat {
	out := map[string]Stat{}
	if len(ms) == 0 {
		return out
	}
next:
	for k := range ms[0] {
		vs := make([]float64, len(ms))
		for i, m := range ms {
			v, ok := m[k]
			if !ok {
				continue next
			}
			vs[i] = v
		}
		out[k] = statOf(vs)
	}
	return out
}

func statOf(vs []float64) Stat {
	s := Stat{N: len(vs), Min: slices.Min(vs), Max: slices.Max(vs)}
	for _, v := range vs {
		s.Mean += v
	}
	s.Mean /= float64(len(vs))
	if len(vs) > 1 {
		var ss float64
		for _, v := range vs {
			ss += (v - s.Mean) * (v - s.Mean)
		}
		s.Std = math.Sqrt(ss / float64(len(vs)-1))
	}
	return s
}

// Seeds is the summary of a folder of seeds, its seeds.json.
type Seeds struct {
	Name        string          `json:"name"`
	Description string          `json:"description,omitempty"`
	Task        string          `json:"task"`
	Metric      string          `json:"metric"`
	Runs        []SeedRun       `json:"runs"`
	Dev         map[string]Stat `json:"dev,omitempty"`
	Test        map[string]Stat `json:"test,omitempty"`
	// Ensemble holds the scores of all the seeds' models as one ensemble,
	// once every seed has finished.
	Ensemble *Ensemble `json:"ensemble,omitempty"`
}

// Ensemble is what an ensemble of the seeds scored.
type Ensemble struct {
	Members int     `json:"members"`
	Dev     Metrics `json:"dev,omitempty"`
	Test    Metrics `json:"test,omitempty"`
	Seconds float64 `json:"seconds"` // to load the members and evaluate both splits
}

// SeedRun is one finished seed of a summary.
type SeedRun struct {
	Dir string `json:"dir"` // relative to the folder of seeds
	Results
}

// NewSeeds summarises finished runs; the task and its main metric are
// those the runs recorded.
func NewSeeds(name, description string, runs []SeedRun) Seeds {
	s := Seeds{Name: name, Description: description, Runs: runs}
	for _, r := range runs {
		if r.Metric != "" {
			s.Task, s.Metric = r.Task, r.Metric
			break
		}
	}
	var dev, test []Metrics
	for _, r := range runs {
		if r.Dev != nil {
			dev = append(dev, r.Dev)
		}
		if r.Test != nil {
			test = append(test, r.Test)
		}
	}
	if len(dev) > 0 {
		s.Dev = Summarize(dev)
	}
	if len(test) > 0 {
		s.Test = Summarize(test)
	}
	return s
}

// Digits formats a metric with at least two decimals and four significant
// digits: 93.74, 1.893, 0.4312 (a negative log-likelihood a hundredth apart
// from another is not rounded into it).
func Digits(v float64) int {
	if v == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
		return 2
	}
	return min(max(2, 3-int(math.Floor(math.Log10(math.Abs(v))))), 8)
}

// Markdown renders the summary as the folder's report.md: mean ± std, min and
// max of every dev and test metric over the seeds, then each seed's main
// metric.
func (s Seeds) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s: %d seeds\n\n", s.Name, len(s.Runs))
	if s.Description != "" {
		fmt.Fprintf(&b, "%s\n\n", s.Description)
	}
	var total float64
	for _, r := range s.Runs {
		total += r.Seconds
	}
	fmt.Fprintf(&b, "Task %s, main metric %s. Mean ± sample standard deviation over the seeds; %s of training and evaluation in all.\n\n",
		s.Task, s.Metric, time.Duration(total*float64(time.Second)).Round(time.Second))
	for _, part := range []struct {
		split string
		stats map[string]Stat
	}{{"dev", s.Dev}, {"test", s.Test}} {
		if len(part.stats) == 0 {
			continue
		}
		keys := make([]string, 0, len(part.stats))
		for k := range part.stats {
			if !strings.Contains(k, "/") { // per-class metrics stay in seeds.json
				keys = append(keys, k)
			}
		}
		slices.Sort(keys)
		var ens Metrics
		if s.Ensemble != nil {
			ens = map[string]Metrics{"dev": s.Ensemble.Dev, "test": s.Ensemble.Test}[part.split]
		}
		head, rule := "| metric | mean ± std | min | max |", "| --- | ---: | ---: | ---: |"
		if ens != nil {
			head, rule = head+fmt.Sprintf(" ensemble of %d |", s.Ensemble.Members), rule+" ---: |"
		}
		fmt.Fprintf(&b, "## %s\n\n%s\n%s\n", part.split, head, rule)
		for _, k := range keys {
			st := part.stats[k]
			d := Digits(st.Mean)
			mark := ""
			if k == s.Metric {
				mark = " (main)"
			}
			fmt.Fprintf(&b, "| %s%s | %.*f ± %.*f | %.*f | %.*f |", k, mark, d, st.Mean, d, st.Std, d, st.Min, d, st.Max)
			if ens != nil {
				if v, ok := ens[k]; ok {
					fmt.Fprintf(&b, " %.*f |", d, v)
				} else {
					b.WriteString(" – |")
				}
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if s.Ensemble != nil {
		fmt.Fprintf(&b, "The ensemble of the %d seeds (seqkit eval -m on this folder) took %.0f s to load and evaluate.\n\n", s.Ensemble.Members, s.Ensemble.Seconds)
	}
	fmt.Fprintf(&b, "## runs\n\n| run | seed | steps | epochs | best step | seconds | dev %s | test %s |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n", s.Metric, s.Metric)
	cell := func(m Metrics) string {
		if v, ok := m[s.Metric]; ok {
			return fmt.Sprintf("%.*f", Digits(v), v)
		}
		return "–"
	}
	for _, r := range s.Runs {
		best := fmt.Sprint(r.BestStep)
		if r.StillImproving {
			best += " (the last evaluation: dev still improving)"
		}
		fmt.Fprintf(&b, "| %s | %d | %d | %d | %s | %.0f | %s | %s |\n", r.Dir, r.Seed, r.Steps, r.Epochs, best, r.Seconds, cell(r.Dev), cell(r.Test))
	}
	return b.String()
}

// OpenSeeds takes a folder of seeds for this process (a lock, as a run
// directory has) and checks it as Open checks a run directory: an existing
// folder needs resume or force, and force replaces only what seqkit wrote
// there (the seed run directories themselves are checked by Open as each
// run starts).
func OpenSeeds(dir string, force, resume bool) (unlock func(), err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("%w %s cannot be made: %v; choose a writable folder with -o", ErrRunDir, dir, err)
	}
	held, err := lockRunDir(dir)
	if err != nil {
		return nil, err
	}
	all, err := os.ReadDir(dir)
	if err != nil {
		held()
		return nil, err
	}
	var foreign, entries []string
	for _, e := range all {
		name := e.Name()
		if name == lockFile || isTemp(name) {
			continue
		}
		entries = append(entries, name)
		if ok, _ := filepath.Match("seed-*", name); !ok && name != SeedsFile && name != ReportFile {
			foreign = append(foreign, name)
		}
	}
	switch {
	case len(entries) == 0:
	case len(foreign) > 0:
		err = fmt.Errorf("%w %s is not a folder of seeds (it holds %s); choose another -o", ErrRunDir, dir, strings.Join(foreign, ", "))
	case !force && !resume:
		err = fmt.Errorf("%w %s already exists: choose another -o, or --force to start again, or --resume to continue it", ErrRunDir, dir)
	case force:
		for _, name := range []string{SeedsFile, ReportFile} {
			if rerr := os.Remove(filepath.Join(dir, name)); rerr != nil && !os.IsNotExist(rerr) {
				err = rerr
			}
		}
	}
	if err != nil {
		held()
		return nil, err
	}
	return held, nil
}

// ReadSeeds reads the summary of a folder of seeds.
func ReadSeeds(dir string) (Seeds, error) {
	var s Seeds
	return s, readJSON(filepath.Join(dir, SeedsFile), 64<<20, &s)
}

// WriteSeeds writes the summary's seeds.json and report.md into dir.
func WriteSeeds(dir string, s Seeds) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(dir, SeedsFile), append(b, '\n')); err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(dir, ReportFile), []byte(s.Markdown()))
}
