package gcn

import (
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"path/filepath"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/seqkit/seqkit/nn"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins/sdk"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/rundir"
)

// Options are the recipe keys of the gcn task. The rest comes from the
// recipe's train section: Adam at train.lr, train.weight_decay as the L2
// penalty on the first layer only (the paper's 5e-4), train.seed, and
// train.early_stop on the dev loss.
type Options struct {
	Hidden  int     `yaml:"hidden" doc:"units of the hidden layer" min:"1" max:"4096"`
	Dropout float64 `yaml:"dropout" doc:"dropout on the input features and on the hidden layer" min:"0" max:"0.95"`
	Graph   bool    `yaml:"graph" doc:"propagate over the edges; false is the MLP baseline: the same layers and features without the graph"`
}

// The tables the task reads, and their columns.
var (
	nodesTable = tasks.TableSpec{Name: "nodes", Doc: "one row per node: its id, class (-1: none), split (train, dev, test; anything else: unlabelled) and sparse features (the indices of its non-zero features)",
		Columns: []pipeline.TableColumn{{Name: "id", Type: pipeline.Int64}, {Name: "label", Type: pipeline.Int64}, {Name: "split", Type: pipeline.String}, {Name: "features", Type: pipeline.Int64List}}}
	edgesTable = tasks.TableSpec{Name: "edges", Doc: "one row per undirected edge: the ids of its two nodes",
		Columns: []pipeline.TableColumn{{Name: "src", Type: pipeline.Int64}, {Name: "dst", Type: pipeline.Int64}}}
)

// Bounds on what the tables may make the task allocate.
const (
	maxClasses = 1 << 16
	maxWeights = 1 << 27 // features × hidden, float64: 1 GiB
)

// Type is the gcn task type.
func Type() tasks.Type {
	return tasks.Type{
		Name:    "gcn",
		Options: func() any { return &Options{Hidden: 16, Dropout: 0.5, Graph: true} },
		Check: func(r *recipes.Recipe) []recipes.KeyError {
			if r.Train.Optimizer != "adam" {
				return []recipes.KeyError{{Key: "train.optimizer", Msg: "the gcn task trains with adam, as the paper"}}
			}
			return nil
		},
		New: func() tasks.Task { return &Task{} },
	}
}

// Task is a two-layer GCN over the graph of its tables, trained full batch:
// each training step is one epoch over the labelled nodes.
type Task struct {
	opts *Options
	wd   float64
	g    *Graph
	ids  []int64 // each row's node id
	m    *Model
	opt  *nn.Adam[float64]
	pcg  *rand.PCG
	rng  *rand.Rand
}

// Info implements tasks.Task.
func (t *Task) Info() tasks.Info {
	return tasks.Info{Name: "gcn", Version: "0.1.0", Metric: "accuracy", HigherIsBetter: true,
		Tables: []tasks.TableSpec{nodesTable, edgesTable}, WholeDataset: true}
}

// Description is what seqkit plugins list shows.
func (t *Task) Description() string {
	return "semi-supervised node classification with a two-layer graph convolutional network (Kipf and Welling 2017), full batch"
}

// Init implements tasks.Task: it reads the tables and builds the graph and the
// model.
func (t *Task) Init(s tasks.Setup) error {
	o, ok := s.Recipe.Task.Options.(*Options)
	if !ok {
		return fmt.Errorf("gcn: options of type %T", s.Recipe.Task.Options)
	}
	if s.Table == nil {
		return errors.New("gcn: no tables: the recipe's data.tables gives nodes and edges")
	}
	t.opts, t.wd = o, s.Recipe.Train.Decay
	nodes, err := s.Table(nodesTable)
	if err != nil {
		return err
	}
	defer nodes.Release()
	edges, err := s.Table(edgesTable)
	if err != nil {
		return err
	}
	defer edges.Release()
	if t.g, t.ids, err = buildGraph(nodes, edges, o.Graph, o.Hidden); err != nil {
		return err
	}
	t.pcg = rand.NewPCG(s.Recipe.Train.Seed, 0x9c4)
	t.rng = rand.New(t.pcg)
	t.m = NewModel(t.g.X.Cols, o.Hidden, t.g.Classes, t.rng)
	t.opt = nn.NewAdam(t.m.Params(), nn.AdamConfig{})
	return nil
}

// buildGraph reads the node and edge tables: node ids become rows, features
// a row-normalised sparse matrix, edges the normalised adjacency (the identity
// without graph).
func buildGraph(nodes, edges arrow.RecordBatch, graph bool, hidden int) (*Graph, []int64, error) {
	ids, err := sdk.Int64s(nodes, "id")
	if err != nil {
		return nil, nil, fmt.Errorf("gcn: nodes: %w", err)
	}
	labels, err := sdk.Int64s(nodes, "label")
	if err != nil {
		return nil, nil, fmt.Errorf("gcn: nodes: %w", err)
	}
	splits, err := sdk.Strings(nodes, "split")
	if err != nil {
		return nil, nil, fmt.Errorf("gcn: nodes: %w", err)
	}
	feats, err := sdk.Int64Lists(nodes, "features")
	if err != nil {
		return nil, nil, fmt.Errorf("gcn: nodes: %w", err)
	}
	rows, err := sdk.Rows(ids)
	if err != nil {
		return nil, nil, fmt.Errorf("gcn: nodes: %w", err)
	}
	N := len(ids)
	if N == 0 {
		return nil, nil, errors.New("gcn: the nodes table is empty")
	}
	g := &Graph{Labels: make([]int32, N)}
	F := 0
	var fr, fc []int32
	var fv []float64
	for i, fs := range feats {
		for _, f := range fs {
			if f < 0 || f >= maxWeights/int64(hidden) {
				return nil, nil, fmt.Errorf("gcn: nodes row %d: feature %d is outside 0..%d (features × hidden at most %d weights)", i+1, f, maxWeights/hidden-1, maxWeights)
			}
			F = max(F, int(f)+1)
			fr, fc, fv = append(fr, int32(i)), append(fc, int32(f)), append(fv, 1/float64(len(fs)))
		}
	}
	if F == 0 {
		return nil, nil, errors.New("gcn: no node has a feature")
	}
	if g.X, err = sdk.NewCSR(N, F, fr, fc, fv); err != nil {
		return nil, nil, err
	}
	for i, sp := range splits {
		y := labels[i]
		var split *[]int32
		switch sp {
		case "train":
			split = &g.Train
		case "dev":
			split = &g.Dev
		case "test":
			split = &g.Test
		}
		if split != nil && (y < 0 || y >= maxClasses) {
			return nil, nil, fmt.Errorf("gcn: nodes row %d (id %d) is in %s with label %d: want 0 to %d", i+1, ids[i], sp, y, maxClasses-1)
		}
		if split != nil {
			*split = append(*split, int32(i))
			g.Classes = max(g.Classes, int(y)+1)
		}
		g.Labels[i] = int32(max(-1, min(y, maxClasses)))
	}
	if len(g.Train) == 0 {
		return nil, nil, errors.New("gcn: no node has split train: nothing to learn from")
	}
	if graph {
		src, err := sdk.Int64s(edges, "src")
		if err != nil {
			return nil, nil, fmt.Errorf("gcn: edges: %w", err)
		}
		dst, err := sdk.Int64s(edges, "dst")
		if err != nil {
			return nil, nil, fmt.Errorf("gcn: edges: %w", err)
		}
		a, b, err := sdk.Pairs(rows, src, dst)
		if err != nil {
			return nil, nil, fmt.Errorf("gcn: edges: %w", err)
		}
		if g.Adj, err = NormAdjacency(N, a, b); err != nil {
			return nil, nil, err
		}
	} else if g.Adj, err = NormAdjacency(N, nil, nil); err != nil { // Â = I
		return nil, nil, err
	}
	return g, ids, nil
}

// nodesOf returns the nodes of the split a batch names.
func (t *Task) nodesOf(b *pipeline.Batch) ([]int32, error) {
	switch b.Split {
	case "train":
		return t.g.Train, nil
	case "dev":
		return t.g.Dev, nil
	case "test":
		return t.g.Test, nil
	}
	return nil, fmt.Errorf("gcn: a batch for split %q: the gcn task trains on its tables whole, and takes batches that name train, dev or test", b.Split)
}

// TrainStep implements tasks.Task: one full-batch step over the training
// nodes, with dropout.
func (t *Task) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	nodes, err := t.nodesOf(b)
	if err != nil {
		return tasks.Step{}, err
	}
	ps := t.m.forward(t.g, t.opts.Dropout, t.rng)
	loss, dz := t.m.loss(ps, t.g, nodes, t.wd, true)
	t.m.backward(ps, t.g, dz, t.wd)
	var ss float64
	for _, p := range t.m.Params() {
		for _, g := range p.Grad {
			ss += g * g
		}
	}
	norm := math.Sqrt(ss)
	if math.IsNaN(loss) || math.IsInf(loss, 0) || math.IsNaN(norm) || math.IsInf(norm, 0) {
		nn.ZeroGrads(t.m.Params())
		return tasks.Step{Loss: loss, GradNorm: norm}, fmt.Errorf("gcn: loss %v, gradient norm %v: %w", loss, norm, tasks.ErrDiverged)
	}
	t.opt.Step(lr)
	nn.ZeroGrads(t.m.Params())
	return tasks.Step{Loss: loss, Tokens: len(nodes), GradNorm: norm}, nil
}

// Evaluate implements tasks.Task: the mean cross-entropy and the accuracy
// over the nodes of the splits the batches name.
func (t *Task) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	var nodes []int32
	for b := range batches {
		n, err := t.nodesOf(b)
		if err != nil {
			return nil, err
		}
		nodes = append(nodes, n...)
	}
	if len(nodes) == 0 {
		return nil, errors.New("gcn: no nodes to evaluate: the split has none in the nodes table")
	}
	loss, acc := t.m.Evaluate(t.g, nodes)
	return tasks.Metrics{"loss": loss, "accuracy": acc}, nil
}

// Predict implements tasks.Task: for each node of the split b names, its id,
// the predicted class and its probability, and the gold class.
func (t *Task) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	nodes, err := t.nodesOf(b)
	if err != nil {
		return nil, err
	}
	ps := t.m.forward(t.g, 0, nil)
	mem := memory.DefaultAllocator
	id, label, gold := array.NewInt64Builder(mem), array.NewInt64Builder(mem), array.NewInt64Builder(mem)
	prob := array.NewFloat64Builder(mem)
	defer id.Release()
	defer label.Release()
	defer gold.Release()
	defer prob.Release()
	C := t.m.C
	for _, n := range nodes {
		row := ps.logits[int(n)*C : int(n)*C+C]
		best := 0
		for j, v := range row {
			if v > row[best] {
				best = j
			}
		}
		var z float64
		for _, v := range row {
			z += math.Exp(v - row[best])
		}
		id.Append(t.ids[n])
		label.Append(int64(best))
		prob.Append(1 / z)
		gold.Append(int64(t.g.Labels[n]))
	}
	cols := []arrow.Array{id.NewArray(), label.NewArray(), prob.NewArray(), gold.NewArray()}
	schema := arrow.NewSchema([]arrow.Field{{Name: "id", Type: arrow.PrimitiveTypes.Int64}, {Name: "label", Type: arrow.PrimitiveTypes.Int64},
		{Name: "probability", Type: arrow.PrimitiveTypes.Float64}, {Name: "gold", Type: arrow.PrimitiveTypes.Int64}}, nil)
	rec := array.NewRecordBatch(schema, cols, int64(len(nodes)))
	for _, c := range cols {
		c.Release()
	}
	return rec, nil
}

// Files of a checkpoint beside rundir.ModelFile.
const (
	optimizerFile = "optimizer.safetensors"
	stateFile     = "gcn-state.json"
)

// state is what a resumable checkpoint adds to the optimizer's moments.
type state struct {
	Steps int    `json:"steps"`
	RNG   []byte `json:"rng"`
}

// Save implements tasks.Task.
func (t *Task) Save(dir string, resumable bool) error {
	if err := nn.SaveSafetensors(filepath.Join(dir, rundir.ModelFile), t.m.Params(), map[string]string{"task": "gcn"}); err != nil {
		return err
	}
	if !resumable {
		return nil
	}
	if err := nn.SaveSafetensors(filepath.Join(dir, optimizerFile), t.opt.State(), nil); err != nil {
		return err
	}
	rs, err := t.pcg.MarshalBinary()
	if err != nil {
		return err
	}
	b, err := json.Marshal(state{Steps: t.opt.Steps(), RNG: rs})
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(dir, stateFile), b)
}

// Load implements tasks.Task.
func (t *Task) Load(dir string, resumable bool) error {
	if _, err := nn.LoadSafetensors(filepath.Join(dir, rundir.ModelFile), t.m.Params()); err != nil {
		return err
	}
	if !resumable {
		return nil
	}
	if _, err := nn.LoadSafetensors(filepath.Join(dir, optimizerFile), t.opt.State()); err != nil {
		return err
	}
	b, err := pipeline.ReadFileLimited(filepath.Join(dir, stateFile), 1<<16)
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("gcn: %s: %w", filepath.Join(dir, stateFile), err)
	}
	t.opt.SetSteps(st.Steps)
	return t.pcg.UnmarshalBinary(st.RNG)
}
