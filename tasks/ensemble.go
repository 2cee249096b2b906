package tasks

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"

	"github.com/seqkit/seqkit/tasks/rundir"
)

// MaxMembers bounds an ensemble: every member is a whole model in memory.
const MaxMembers = 64

// Members lists the run directories that dirs name: a folder of seeds
// (seqkit run --seeds) stands for its finished seeds, any other folder for
// itself.
func Members(dirs []string) ([]string, error) {
	var out []string
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, rundir.SeedsFile)); err != nil {
			out = append(out, d)
			continue
		}
		s, err := rundir.ReadSeeds(d)
		if err != nil {
			return nil, err
		}
		if len(s.Runs) == 0 {
			return nil, fmt.Errorf("%w %s: no seed has finished yet (%s lists none)", rundir.ErrRunDir, d, rundir.SeedsFile)
		}
		for _, r := range s.Runs {
			if !filepath.IsLocal(r.Dir) {
				return nil, fmt.Errorf("%w %s: %s names %q, outside the folder", rundir.ErrRunDir, d, rundir.SeedsFile, r.Dir)
			}
			out = append(out, filepath.Join(d, r.Dir))
		}
	}
	if len(out) > MaxMembers {
		return nil, fmt.Errorf("tasks: %d models make an ensemble of more than %d", len(out), MaxMembers)
	}
	return out, nil
}

// LoadEnsemble opens the runs that dirs name (Members) and, when there are
// several, combines them: the Loaded returned is the first run's with its
// Task the ensemble, beside the members themselves. The members must be of
// one task type, with the same vocabularies and tokenizer (the ids they read
// and write are then the same). sets override every member's decoding
// options, as LoadRun's do.
func LoadEnsemble(dirs []string, reg *Registry, dataRoot string, sets ...string) (*Loaded, []*Loaded, error) {
	dirs, err := Members(dirs)
	if err != nil {
		return nil, nil, err
	}
	if len(dirs) == 0 {
		return nil, nil, fmt.Errorf("tasks: no model to load")
	}
	members := make([]*Loaded, len(dirs))
	for i, d := range dirs {
		if members[i], err = LoadRun(d, reg, dataRoot, sets...); err != nil {
			return nil, nil, err
		}
	}
	first := members[0]
	if len(members) == 1 {
		return first, members, nil
	}
	sums := rundir.VocabSums(first.Vocabs)
	others := make([]Task, 0, len(members)-1)
	for _, m := range members[1:] {
		switch {
		case m.Recipe.Task.Type != first.Recipe.Task.Type:
			return nil, nil, fmt.Errorf("%w: %s is a %s model, %s a %s model", ErrEnsemble, m.Dir, m.Recipe.Task.Type, first.Dir, first.Recipe.Task.Type)
		case !maps.Equal(rundir.VocabSums(m.Vocabs), sums):
			return nil, nil, fmt.Errorf("%w: %s and %s were trained with different vocabularies (compare their vocab/ folders); an ensemble needs the same data and vocabulary settings", ErrEnsemble, m.Dir, first.Dir)
		case !reflect.DeepEqual(m.Recipe.Data.Tokenizer, first.Recipe.Data.Tokenizer):
			return nil, nil, fmt.Errorf("%w: %s and %s tokenize differently (data.tokenizer)", ErrEnsemble, m.Dir, first.Dir)
		}
		others = append(others, m.Task)
	}
	e, ok := first.Task.(Ensembler)
	if !ok {
		return nil, nil, fmt.Errorf("%w: the %s task does not combine models", ErrEnsemble, first.Recipe.Task.Type)
	}
	task, err := e.Ensemble(others)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrEnsemble, err)
	}
	l := *first
	l.Task = task
	return &l, members, nil
}

// Gather is how a task's Ensemble collects its members: first, then each of
// others, which must be of first's type and pass check (same classes, same
// head, …).
func Gather[T Task](first T, others []Task, check func(T) error) ([]T, error) {
	out := []T{first}
	for _, o := range others {
		m, ok := o.(T)
		if !ok {
			return nil, fmt.Errorf("%s: a member is a %T, not a %T", first.Info().Name, o, first)
		}
		if err := check(m); err != nil {
			return nil, fmt.Errorf("%s: %w", first.Info().Name, err)
		}
		out = append(out, m)
	}
	return out, nil
}
