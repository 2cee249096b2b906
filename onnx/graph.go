// Package onnx writes seqkit models as ONNX graphs, for ONNX Runtime and the
// other engines that read the format. A [Graph] is built node by node, with
// the weights as initializers, and [Graph.Marshal] encodes it as an ONNX
// ModelProto. The protocol buffer is written field by field with protowire:
// the few messages a model needs do not justify generated code for the whole
// of onnx.proto.
//
// The layers of package nn map onto ONNX operators in layers.go; the tasks
// compose them into whole models (an [Exporter]).
package onnx

import (
	"fmt"
	"strconv"
	"strings"
)

// Opset is the version of the default ONNX operator set the graphs use:
// ONNX Runtime 1.14 and later run it.
const Opset = 17

// DType is an ONNX tensor element type (TensorProto.DataType).
type DType int32

// The element types seqkit's graphs use.
const (
	Float DType = 1
	Int32 DType = 6
	Int64 DType = 7
)

// Attr is a node attribute: a float, an int, a string, or a list of floats,
// ints or strings.
type Attr struct {
	Name    string
	Kind    int // one of the Attr* constants (AttributeProto.AttributeType)
	F       float32
	I       int64
	S       string
	Floats  []float32
	Ints    []int64
	Strings []string
}

// Attribute kinds, as AttributeProto numbers them.
const (
	AttrFloat   = 1
	AttrInt     = 2
	AttrString  = 3
	AttrFloats  = 6
	AttrInts    = 7
	AttrStrings = 8
)

// AInt is an int attribute.
func AInt(name string, v int64) Attr { return Attr{Name: name, Kind: AttrInt, I: v} }

// AString is a string attribute.
func AString(name, v string) Attr { return Attr{Name: name, Kind: AttrString, S: v} }

// AInts is an int-list attribute.
func AInts(name string, v ...int64) Attr { return Attr{Name: name, Kind: AttrInts, Ints: v} }

// AStrings is a string-list attribute.
func AStrings(name string, v ...string) Attr { return Attr{Name: name, Kind: AttrStrings, Strings: v} }

type node struct {
	op      string
	in, out []string
	attrs   []Attr
}

type tensor struct {
	name  string
	dims  []int64
	dtype DType
	f32   []float32
	i64   []int64
}

// Dim is one dimension of a graph input or output: a size (an int) or the
// name of a size known only at run time (a string, such as "batch").
type Dim any

type valueInfo struct {
	name  string
	dtype DType
	dims  []Dim
}

// Graph is an ONNX graph under construction. The zero value is not usable:
// call NewGraph.
type Graph struct {
	name           string
	doc            string
	nodes          []node
	inits          []tensor
	inputs, output []valueInfo
	meta           [][2]string
	names          map[string]bool
}

// NewGraph starts a graph called name; doc describes it (the model's
// doc_string, which viewers such as Netron show).
func NewGraph(name, doc string) *Graph {
	return &Graph{name: name, doc: doc, names: map[string]bool{}}
}

// fresh returns an unused value name starting with prefix.
func (g *Graph) fresh(prefix string) string {
	name := prefix
	for i := 1; g.names[name]; i++ {
		name = prefix + "_" + strconv.Itoa(i)
	}
	g.names[name] = true
	return name
}

// Meta adds a metadata property (ModelProto.metadata_props): the vocabularies,
// the task, how to read the outputs.
func (g *Graph) Meta(key, value string) { g.meta = append(g.meta, [2]string{key, value}) }

// Input declares a graph input and returns its name.
func (g *Graph) Input(name string, t DType, dims ...Dim) string {
	if g.names[name] {
		panic(fmt.Sprintf("onnx: the name %q is taken", name))
	}
	g.names[name] = true
	g.inputs = append(g.inputs, valueInfo{name, t, dims})
	return name
}

// Output makes value x a graph output called name.
func (g *Graph) Output(x, name string, t DType, dims ...Dim) {
	if g.names[name] {
		panic(fmt.Sprintf("onnx: the name %q is taken", name))
	}
	g.names[name] = true
	g.nodes = append(g.nodes, node{op: "Identity", in: []string{x}, out: []string{name}})
	g.output = append(g.output, valueInfo{name, t, dims})
}

// Weights adds a float initializer of the given shape and returns its name
// (name itself, or name with a suffix when taken). The graph keeps data, not
// a copy: it must not change before Marshal.
func (g *Graph) Weights(name string, data []float32, dims ...int) string {
	if n := numel(dims); n != len(data) {
		panic(fmt.Sprintf("onnx: %s: %d values for shape %v", name, len(data), dims))
	}
	name = g.fresh(name)
	g.inits = append(g.inits, tensor{name: name, dims: int64s(dims), dtype: Float, f32: data})
	return name
}

// Ints adds a 1-D int64 constant and returns its name.
func (g *Graph) Ints(v ...int64) string {
	name := g.fresh("const")
	g.inits = append(g.inits, tensor{name: name, dims: []int64{int64(len(v))}, dtype: Int64, i64: append([]int64(nil), v...)})
	return name
}

// Scalar adds a float scalar constant (shape []) and returns its name.
func (g *Graph) Scalar(v float32) string {
	name := g.fresh("const")
	g.inits = append(g.inits, tensor{name: name, dtype: Float, f32: []float32{v}})
	return name
}

// IntScalar adds an int64 scalar constant (shape []) and returns its name.
func (g *Graph) IntScalar(v int64) string {
	name := g.fresh("const")
	g.inits = append(g.inits, tensor{name: name, dtype: Int64, i64: []int64{v}})
	return name
}

// Op adds a node of one output and returns the output's name. An empty input
// name leaves an optional input out.
func (g *Graph) Op(op string, in []string, attrs ...Attr) string {
	return g.OpN(op, in, 1, attrs...)[0]
}

// OpN adds a node of n outputs and returns their names.
func (g *Graph) OpN(op string, in []string, n int, attrs ...Attr) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = g.fresh(op)
	}
	g.nodes = append(g.nodes, node{op: op, in: in, out: out, attrs: attrs})
	return out
}

func numel(dims []int) int {
	n := 1
	for _, d := range dims {
		n *= d
	}
	return n
}

func int64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// Part is one graph of an exported model: most models are one graph (Name
// ""); a seq2seq model is an encoder and a decoder step.
type Part struct {
	Name  string
	Graph *Graph
}

// Exporter is a task whose trained model can be written as ONNX.
type Exporter interface {
	// ExportONNX builds the model's graphs, or says why it cannot.
	ExportONNX() ([]Part, error)
}

// Signature describes the graph's inputs and outputs, one per line, as
// "name type [dims]": what a caller feeds and reads.
func (g *Graph) Signature() string {
	var b strings.Builder
	line := func(kind string, v valueInfo) {
		dims := make([]string, len(v.dims))
		for i, d := range v.dims {
			dims[i] = fmt.Sprint(d)
		}
		fmt.Fprintf(&b, "  %-6s %-20s %-7s [%s]\n", kind, v.name, dtypeNames[v.dtype], strings.Join(dims, ", "))
	}
	for _, v := range g.inputs {
		line("input", v)
	}
	for _, v := range g.output {
		line("output", v)
	}
	return b.String()
}

var dtypeNames = map[DType]string{Float: "float32", Int32: "int32", Int64: "int64"}
