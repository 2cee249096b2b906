package plugins

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
	"reflect"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/plugins/proto"
	"github.com/seqkit/seqkit/recipes"
	"github.com/seqkit/seqkit/tasks"
)

// server serves one task type over the Task service, inside the plugin process.
type server struct {
	proto.UnimplementedTaskServer
	typ    *tasks.Type
	recipe *recipes.Recipe
	task   tasks.Task
}

func (s *server) Describe(context.Context, *proto.DescribeRequest) (*proto.Description, error) {
	t := s.typ.New()
	info := t.Info()
	d := &proto.Description{Name: s.typ.Name, Version: info.Version, Metric: info.Metric, HigherIsBetter: info.HigherIsBetter,
		Capabilities: []string{"train", "evaluate", "predict", "resumable"}}
	if info.WholeDataset {
		d.Capabilities = append(d.Capabilities, capWholeDataset)
	}
	for _, t := range info.Tables {
		spec := &proto.TableSpec{Name: t.Name, Doc: t.Doc}
		for _, c := range t.Columns {
			spec.Columns = append(spec.Columns, &proto.ColumnSpec{Name: c.Name, Type: string(c.Type)})
		}
		d.Tables = append(d.Tables, spec)
	}
	if desc, ok := t.(interface{ Description() string }); ok {
		d.Description = desc.Description()
	}
	d.Options = optionsOf(s.typ.Options())
	return d, nil
}

// Configure reads the recipe the host sends, with this task's options decoded
// and checked as a built-in task's are.
func (s *server) Configure(_ context.Context, req *proto.ConfigureRequest) (*proto.ConfigureResponse, error) {
	var reg tasks.Registry
	if err := reg.Register(*s.typ); err != nil {
		return nil, err
	}
	r, err := recipes.Parse("the host's recipe", req.RecipeYaml, recipes.Options{Tasks: &reg, SkipData: true})
	var errs recipes.Errors
	if errors.As(err, &errs) {
		resp := &proto.ConfigureResponse{}
		for _, e := range errs {
			resp.Errors = append(resp.Errors, &proto.KeyError{Key: e.Key, Message: e.Msg})
		}
		return resp, nil
	}
	if err != nil {
		return nil, err
	}
	s.recipe = r
	return &proto.ConfigureResponse{}, nil
}

func (s *server) Init(_ context.Context, req *proto.InitRequest) (*proto.InitResponse, error) {
	if s.recipe == nil {
		return nil, status.Error(codes.FailedPrecondition, "Init before Configure")
	}
	v, err := vocabsFrom(req)
	if err != nil {
		return nil, err
	}
	s.task = s.typ.New()
	setup := tasks.Setup{Recipe: s.recipe, Vocabs: v, Table: tablesFrom(req.Tables)}
	if len(req.TrainSummaryJson) > 0 {
		if err := jsonUnmarshal(req.TrainSummaryJson, &setup.Train); err != nil {
			return nil, err
		}
	}
	if err := s.task.Init(setup); err != nil {
		return nil, err
	}
	return &proto.InitResponse{}, nil
}

func (s *server) ready() error {
	if s.task == nil {
		return status.Error(codes.FailedPrecondition, "the task is not initialised (Configure and Init come first)")
	}
	return nil
}

func (s *server) TrainStep(_ context.Context, req *proto.TrainStepRequest) (*proto.TrainStepResponse, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	b, err := DecodeBatch(req.Batch)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	st, err := s.task.TrainStep(b, req.Lr)
	if err != nil {
		return nil, err
	}
	return &proto.TrainStepResponse{Loss: st.Loss, Tokens: int64(st.Tokens), GradNorm: st.GradNorm}, nil
}

func (s *server) Evaluate(stream proto.Task_EvaluateServer) error {
	if err := s.ready(); err != nil {
		return err
	}
	var bad error
	batches := func(yield func(*pipeline.Batch) bool) {
		for {
			req, err := stream.Recv()
			if err != nil {
				if !errors.Is(err, io.EOF) {
					bad = err
				}
				return
			}
			b, err := DecodeBatch(req.Batch)
			if err != nil {
				bad = status.Error(codes.InvalidArgument, err.Error())
				return
			}
			if !yield(b) {
				return
			}
		}
	}
	m, err := s.task.Evaluate(iter.Seq[*pipeline.Batch](batches))
	if bad != nil {
		return bad
	}
	if err != nil {
		return err
	}
	return stream.SendAndClose(&proto.EvaluateResponse{Metrics: m})
}

func (s *server) Predict(_ context.Context, req *proto.PredictRequest) (*proto.PredictResponse, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	b, err := DecodeBatch(req.Batch)
	if err != nil {
		return nil, status.Error(codes.InvalidArgument, err.Error())
	}
	out, err := s.task.Predict(b)
	if err != nil {
		return nil, err
	}
	defer out.Release()
	if int(out.NumRows()) != b.B && b.Split == "" {
		return nil, fmt.Errorf("the task predicted %d rows for %d sequences", out.NumRows(), b.B)
	}
	data, err := writeRecord(out)
	if err != nil {
		return nil, err
	}
	return &proto.PredictResponse{Batch: data}, nil
}

func (s *server) Save(_ context.Context, req *proto.SaveRequest) (*proto.SaveResponse, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	return &proto.SaveResponse{}, s.task.Save(req.Dir, req.Resumable)
}

func (s *server) Load(_ context.Context, req *proto.LoadRequest) (*proto.LoadResponse, error) {
	if err := s.ready(); err != nil {
		return nil, err
	}
	return &proto.LoadResponse{}, s.task.Load(req.Dir, req.Resumable)
}

// tablesFrom is the plugin's Setup.Table: the tables the host sent, each
// checked against the columns the task asks for.
func tablesFrom(tables map[string][]byte) func(tasks.TableSpec) (arrow.RecordBatch, error) {
	return func(spec tasks.TableSpec) (arrow.RecordBatch, error) {
		data, ok := tables[spec.Name]
		if !ok {
			return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("the host sent no table %s", spec.Name))
		}
		want, err := pipeline.TableSchema(spec.Columns)
		if err != nil {
			return nil, err
		}
		rec, err := decodeRecord(data, -1)
		if err != nil {
			return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("table %s: %v", spec.Name, err))
		}
		if !rec.Schema().Equal(want) {
			rec.Release()
			return nil, status.Error(codes.InvalidArgument, fmt.Sprintf("table %s has columns %s, want %s", spec.Name, rec.Schema(), want))
		}
		return rec, nil
	}
}

// vocabsTo fills an InitRequest with v.
func vocabsTo(req *proto.InitRequest, v pipeline.Vocabs) {
	req.Vocabs = map[string]*proto.Vocab{}
	for _, s := range v.Slots() {
		if *s.Vocab != nil {
			req.Vocabs[s.Name] = &proto.Vocab{Tokens: (*s.Vocab).Tokens(), Specials: (*s.Vocab).HasSpecials()}
		}
	}
	req.Vector = int64(v.Vector)
}

func vocabsFrom(req *proto.InitRequest) (pipeline.Vocabs, error) {
	var v pipeline.Vocabs
	for _, s := range v.Slots() {
		pv, ok := req.Vocabs[s.Name]
		if !ok {
			continue
		}
		voc, err := pipeline.NewVocab(pv.Tokens, pv.Specials)
		if err != nil {
			return v, status.Error(codes.InvalidArgument, fmt.Sprintf("%s vocabulary: %v", s.Name, err))
		}
		*s.Vocab = voc
	}
	v.Vector = int(req.Vector)
	return v, nil
}

func jsonUnmarshal(data []byte, v any) error {
	if err := json.Unmarshal(data, v); err != nil {
		return status.Error(codes.InvalidArgument, err.Error())
	}
	return nil
}

// writeRecord writes one record batch as an Arrow IPC stream.
func writeRecord(rec arrow.RecordBatch) ([]byte, error) {
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(rec.Schema()))
	if err := w.Write(rec); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// optionsOf lists the recipe keys of an options struct: yaml name, kind, doc
// tag and default value.
func optionsOf(opts any) []*proto.Option {
	v := reflect.ValueOf(opts)
	for v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	var out []*proto.Option
	for i := range v.NumField() {
		f := v.Type().Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name == "" || name == "-" || !f.IsExported() {
			continue
		}
		out = append(out, &proto.Option{Name: name, Type: f.Type.Kind().String(), Doc: f.Tag.Get("doc"), Default: fmt.Sprint(v.Field(i).Interface())})
	}
	return out
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
