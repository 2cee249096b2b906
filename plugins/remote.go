package plugins

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"iter"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"go.yaml.in/yaml/v3"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins/proto"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// Options is the task section of a recipe that runs a plugin:
//
//	task: {type: plugin, name: forecast, sha256: 9f86…, options: {window: 48}}
type Options struct {
	Name   string `yaml:"name" doc:"the plugin's task: its binary is seqkit-plugin-NAME in --plugin-dir, $SEQKIT_PLUGIN_PATH or ./plugins/bin"`
	SHA256 string `yaml:"sha256,omitempty" doc:"the plugin binary's SHA-256 (hex): seqkit refuses to start a binary that differs"`
	// Options are the plugin task's own keys, checked by the plugin as a built-in
	// task checks its own (seqkit plugins describe NAME lists them).
	Options map[string]string `yaml:"options,omitempty" doc:"the plugin task's own keys (seqkit plugins describe NAME lists them)"`
}

// Type is the task type that runs plugin tasks, for the host's registry.
func (h *Host) Type() tasks.Type {
	return tasks.Type{
		Name:    "plugin",
		Options: func() any { return &Options{} },
		Check: func(r *recipes.Recipe) []recipes.KeyError {
			o := r.Task.Options.(*Options)
			var errs []recipes.KeyError
			if o.Name == "" {
				errs = append(errs, recipes.KeyError{Key: "task.name", Msg: "missing: the plugin's task name (seqkit plugins list shows them)"})
			} else if err := checkName(o.Name); err != nil {
				errs = append(errs, recipes.KeyError{Key: "task.name", Msg: err.Error()})
			}
			if o.SHA256 != "" {
				if _, err := parsePin(o.SHA256); err != nil {
					errs = append(errs, recipes.KeyError{Key: "task.sha256", Msg: err.Error()})
				}
			}
			return errs
		},
		New: func() tasks.Task { return &Remote{host: h} },
	}
}

// Remote is a task served by a plugin process: every call goes over gRPC, every
// batch as an Arrow IPC record batch.
type Remote struct {
	host *Host
	p    *Plugin
}

// Info implements tasks.Task.
func (r *Remote) Info() tasks.Info {
	if r.p == nil {
		return tasks.Info{Name: "plugin"}
	}
	d := r.p.Desc
	info := tasks.Info{Name: d.Name, Version: d.Version, Metric: d.Metric, HigherIsBetter: d.HigherIsBetter,
		WholeDataset: slices.Contains(d.Capabilities, capWholeDataset)}
	for _, t := range d.Tables {
		spec := tasks.TableSpec{Name: t.Name, Doc: t.Doc}
		for _, c := range t.Columns {
			spec.Columns = append(spec.Columns, pipeline.TableColumn{Name: c.Name, Type: pipeline.ColumnType(c.Type)})
		}
		info.Tables = append(info.Tables, spec)
	}
	return info
}

// capWholeDataset is the capability of a task that trains on whole tables
// (tasks.Info.WholeDataset).
const capWholeDataset = "whole_dataset"

// MaxTablesBytes bounds the tables the host sends a plugin with Init, in
// their Arrow IPC form, all together.
const MaxTablesBytes = 1 << 30

// tablesTo reads the tables the plugin declared through s.Table and puts
// them in req.
func (r *Remote) tablesTo(req *proto.InitRequest, s tasks.Setup) error {
	specs := r.Info().Tables
	if len(specs) == 0 {
		return nil
	}
	if s.Table == nil {
		return fmt.Errorf("plugins: %s reads tables (%s), and none are given here", r.p.Name, specs[0].Name)
	}
	req.Tables = map[string][]byte{}
	total := 0
	for _, spec := range specs {
		if _, err := pipeline.TableSchema(spec.Columns); err != nil {
			return fmt.Errorf("plugins: %s declares table %s: %w", r.p.Name, spec.Name, err)
		}
		rec, err := s.Table(spec)
		if err != nil {
			return err
		}
		data, err := writeRecord(rec)
		rec.Release()
		if err != nil {
			return err
		}
		if total += len(data); total > MaxTablesBytes {
			return fmt.Errorf("plugins: %s: the tables take more than %d MiB in Arrow form, the most a plugin is sent", r.p.Name, MaxTablesBytes>>20)
		}
		req.Tables[spec.Name] = data
	}
	return nil
}

// Plugin returns the running plugin (nil before Init).
func (r *Remote) Plugin() *Plugin { return r.p }

// Init implements tasks.Task: it starts the plugin, configures it with the recipe
// and initialises its model.
func (r *Remote) Init(s tasks.Setup) error {
	o, ok := s.Recipe.Task.Options.(*Options)
	if !ok {
		return fmt.Errorf("plugins: options of type %T", s.Recipe.Task.Options)
	}
	if r.p != nil {
		r.host.stop(r.p)
	}
	p, err := r.host.Launch(o.Name, o.SHA256)
	if err != nil {
		return err
	}
	r.p = p
	doc, err := pluginRecipe(s.Recipe, o)
	if err != nil {
		return err
	}
	schema, err := encodeSchema(BatchSchema(s.Vocabs))
	if err != nil {
		return err
	}
	ctx, cancel := p.ctx()
	defer cancel()
	resp, err := p.task.Configure(ctx, &proto.ConfigureRequest{RecipeYaml: doc, Schema: schema})
	if err != nil {
		return p.explain(fmt.Errorf("plugins: %s: configure: %w", o.Name, err))
	}
	if len(resp.Errors) > 0 {
		var errs recipes.Errors
		for _, e := range resp.Errors {
			errs = append(errs, &recipes.Error{File: "plugin " + o.Name, Key: optionKey(e.Key), Msg: e.Message})
		}
		return errs
	}
	req := &proto.InitRequest{}
	vocabsTo(req, s.Vocabs)
	if err := r.tablesTo(req, s); err != nil {
		return err
	}
	if req.TrainSummaryJson, err = jsonMarshal(s.Train); err != nil {
		return err
	}
	ctx2, cancel2 := p.ctx()
	defer cancel2()
	if _, err := p.task.Init(ctx2, req); err != nil {
		return p.explain(fmt.Errorf("plugins: %s: init: %w", o.Name, err))
	}
	return nil
}

// optionKey maps a key of the plugin's recipe back to the host's: the plugin's
// task.window is the host's task.options.window.
func optionKey(k string) string {
	if rest, ok := strings.CutPrefix(k, "task."); ok && rest != "type" {
		return "task.options." + rest
	}
	return k
}

// pluginRecipe is the recipe the plugin sees: the host's, with the task section
// {type: NAME, ...options}, the option values as plain YAML scalars.
func pluginRecipe(r *recipes.Recipe, o *Options) ([]byte, error) {
	cp := *r
	cp.Task = recipes.Task{Type: o.Name}
	if cp.Data.Train.Path != "" {
		cp.Data.Generate = nil // already written into the splits
	}
	doc, err := cp.YAML()
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if err := yaml.Unmarshal(doc, &root); err != nil {
		return nil, err
	}
	m := root.Content[0]
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value != "task" {
			continue
		}
		task := m.Content[i+1]
		for _, k := range sortedKeys(o.Options) {
			task.Content = append(task.Content,
				&yaml.Node{Kind: yaml.ScalarNode, Value: k},
				&yaml.Node{Kind: yaml.ScalarNode, Value: o.Options[k]})
		}
	}
	return yaml.Marshal(&root)
}

// TrainStep implements tasks.Task.
func (r *Remote) TrainStep(b *pipeline.Batch, lr float64) (tasks.Step, error) {
	data, err := EncodeBatch(b)
	if err != nil {
		return tasks.Step{}, err
	}
	ctx, cancel := r.p.ctx()
	defer cancel()
	resp, err := r.p.task.TrainStep(ctx, &proto.TrainStepRequest{Batch: data, Lr: lr})
	if err != nil {
		return tasks.Step{}, r.fail("train step", err)
	}
	return tasks.Step{Loss: resp.Loss, Tokens: int(resp.Tokens), GradNorm: resp.GradNorm}, nil
}

// fail stops a plugin that failed a call (it may hang or be half dead) and
// explains the failure.
func (r *Remote) fail(what string, err error) error {
	err = r.p.explain(fmt.Errorf("plugins: %s: %s: %w", r.p.Name, what, err))
	r.host.stop(r.p)
	return err
}

// Evaluate implements tasks.Task: the batches are streamed to the plugin.
func (r *Remote) Evaluate(batches iter.Seq[*pipeline.Batch]) (tasks.Metrics, error) {
	ctx, cancel := r.p.ctx()
	defer cancel()
	stream, err := r.p.task.Evaluate(ctx)
	if err != nil {
		return nil, r.fail("evaluate", err)
	}
	for b := range batches {
		data, err := EncodeBatch(b)
		if err != nil {
			return nil, err
		}
		if err := stream.Send(&proto.EvaluateRequest{Batch: data}); err != nil {
			if errors.Is(err, io.EOF) {
				break // the plugin ended the call; CloseAndRecv has its error
			}
			return nil, r.fail("evaluate", err)
		}
	}
	resp, err := stream.CloseAndRecv()
	if err != nil {
		return nil, r.fail("evaluate", err)
	}
	return tasks.Metrics(resp.Metrics), nil
}

// Predict implements tasks.Task.
func (r *Remote) Predict(b *pipeline.Batch) (arrow.RecordBatch, error) {
	data, err := EncodeBatch(b)
	if err != nil {
		return nil, err
	}
	ctx, cancel := r.p.ctx()
	defer cancel()
	resp, err := r.p.task.Predict(ctx, &proto.PredictRequest{Batch: data})
	if err != nil {
		return nil, r.fail("predict", err)
	}
	rows := b.B
	if b.Split != "" {
		rows = -1 // a whole split's predictions
	}
	rec, err := decodeRecord(resp.Batch, rows)
	if err != nil {
		return nil, fmt.Errorf("plugins: %s: predict: %w", r.p.Name, err)
	}
	return rec, nil
}

// decodeRecord reads one record batch of rows rows (any number when rows is
// negative): a plugin's answer to a predict call, or a table the host sent.
// Every column is checked (lengths, offsets, UTF-8), so that reading the rows
// cannot go out of bounds, whatever the other side sent.
func decodeRecord(data []byte, rows int) (rec arrow.RecordBatch, err error) {
	defer func() {
		if r := recover(); r != nil { // arrow's decoder panics on some corrupt input
			// rec, if set, is still the reader's: it is retained only on success.
			rec, err = nil, fmt.Errorf("corrupt answer: %v", r)
		}
	}()
	if err := pipeline.CheckIPC(bytes.NewReader(data), int64(len(data)), false); err != nil {
		return nil, err
	}
	rd, err := ipc.NewReader(bytes.NewReader(data), pipeline.IPCReadOptions(memory.DefaultAllocator, int64(len(data)))...)
	if err != nil {
		return nil, err
	}
	defer rd.Release()
	if !rd.Next() {
		if err := rd.Err(); err != nil {
			return nil, err
		}
		return nil, errors.New("no record batch in the answer")
	}
	rec = rd.RecordBatch()
	if rows < 0 {
		rows = int(rec.NumRows())
	}
	if int(rec.NumRows()) != rows {
		return nil, fmt.Errorf("%d rows for %d sequences", rec.NumRows(), rows)
	}
	for i, col := range rec.Columns() {
		if col.Len() != rows {
			return nil, fmt.Errorf("column %q has %d rows for %d sequences", rec.ColumnName(i), col.Len(), rows)
		}
		if err := validArray(col); err != nil {
			return nil, fmt.Errorf("column %q: %w", rec.ColumnName(i), err)
		}
	}
	rec.Retain()
	return rec, nil
}

// validArray runs arrow's full validation on a and on the values of its lists
// and structs.
func validArray(a arrow.Array) error {
	if v, ok := a.(interface{ ValidateFull() error }); ok {
		if err := v.ValidateFull(); err != nil {
			return err
		}
	} else if v, ok := a.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return err
		}
	}
	switch c := a.(type) {
	case array.ListLike:
		return validArray(c.ListValues())
	case *array.Struct:
		for i := range c.NumField() {
			if c.Field(i).Len() < c.Len() {
				return fmt.Errorf("struct field %d has %d rows for %d", i, c.Field(i).Len(), c.Len())
			}
			if err := validArray(c.Field(i)); err != nil {
				return err
			}
		}
	}
	return nil
}

// Save implements tasks.Task.
func (r *Remote) Save(dir string, resumable bool) error {
	ctx, cancel := r.p.ctx()
	defer cancel()
	if _, err := r.p.task.Save(ctx, &proto.SaveRequest{Dir: dir, Resumable: resumable}); err != nil {
		return r.fail("save", err)
	}
	return nil
}

// Load implements tasks.Task.
func (r *Remote) Load(dir string, resumable bool) error {
	ctx, cancel := r.p.ctx()
	defer cancel()
	if _, err := r.p.task.Load(ctx, &proto.LoadRequest{Dir: dir, Resumable: resumable}); err != nil {
		return r.fail("load", err)
	}
	return nil
}
