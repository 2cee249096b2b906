package onnx

import (
	"encoding/binary"
	"fmt"
	"math"

	"google.golang.org/protobuf/encoding/protowire"
)

// irVersion is the ONNX IR version written: 8 goes with opset 17.
const irVersion = 8

// Field numbers of onnx.proto (ModelProto and the messages under it).
const (
	modelIRVersion    = 1
	modelProducer     = 2
	modelProducerVer  = 3
	modelDoc          = 6
	modelGraph        = 7
	modelOpset        = 8
	modelMeta         = 14
	opsetDomain       = 1
	opsetVersion      = 2
	entryKey          = 1
	entryValue        = 2
	graphNode         = 1
	graphName         = 2
	graphInit         = 5
	graphInput        = 11
	graphOutput       = 12
	nodeInput         = 1
	nodeOutput        = 2
	nodeName          = 3
	nodeOp            = 4
	nodeAttr          = 5
	attrName          = 1
	attrF             = 2
	attrI             = 3
	attrS             = 4
	attrFloats        = 7
	attrInts          = 8
	attrStrings       = 9
	attrType          = 20
	tensorDims        = 1
	tensorType        = 2
	tensorName        = 8
	tensorRaw         = 9
	valueName         = 1
	valueType         = 2
	typeTensor        = 1
	tensorElem        = 1
	tensorShape       = 2
	shapeDim          = 1
	dimValue          = 1
	dimParam          = 2
	producerName      = "seqkit"
	maxInitializerLen = 1 << 31 // protobuf messages stop at 2 GiB
)

// Marshal encodes the graph as an ONNX ModelProto; version is the producer
// version written beside "seqkit".
func (g *Graph) Marshal(version string) ([]byte, error) {
	var size int
	for _, t := range g.inits {
		size += 4 * max(len(t.f32), 2*len(t.i64))
	}
	for _, kv := range g.meta {
		size += len(kv[0]) + len(kv[1])
	}
	if size >= maxInitializerLen {
		return nil, fmt.Errorf("onnx: %d bytes of weights and metadata; a single ONNX file holds less than 2 GiB", size)
	}
	var b []byte
	b = protowire.AppendTag(b, modelIRVersion, protowire.VarintType)
	b = protowire.AppendVarint(b, irVersion)
	b = appendString(b, modelProducer, producerName)
	b = appendString(b, modelProducerVer, version)
	if g.doc != "" {
		b = appendString(b, modelDoc, g.doc)
	}
	b = appendMessage(b, modelGraph, g.appendGraph(nil))
	var op []byte
	op = appendString(op, opsetDomain, "")
	op = protowire.AppendTag(op, opsetVersion, protowire.VarintType)
	op = protowire.AppendVarint(op, Opset)
	b = appendMessage(b, modelOpset, op)
	for _, kv := range g.meta {
		var e []byte
		e = appendString(e, entryKey, kv[0])
		e = appendString(e, entryValue, kv[1])
		b = appendMessage(b, modelMeta, e)
	}
	return b, nil
}

func (g *Graph) appendGraph(b []byte) []byte {
	for i, n := range g.nodes {
		var m []byte
		for _, x := range n.in {
			m = appendString(m, nodeInput, x)
		}
		for _, x := range n.out {
			m = appendString(m, nodeOutput, x)
		}
		m = appendString(m, nodeName, fmt.Sprintf("%s_%d", n.op, i))
		m = appendString(m, nodeOp, n.op)
		for _, a := range n.attrs {
			m = appendMessage(m, nodeAttr, appendAttr(nil, a))
		}
		b = appendMessage(b, graphNode, m)
	}
	b = appendString(b, graphName, g.name)
	for _, t := range g.inits {
		b = appendMessage(b, graphInit, appendTensor(nil, t))
	}
	for _, v := range g.inputs {
		b = appendMessage(b, graphInput, appendValueInfo(nil, v))
	}
	for _, v := range g.output {
		b = appendMessage(b, graphOutput, appendValueInfo(nil, v))
	}
	return b
}

func appendAttr(b []byte, a Attr) []byte {
	b = appendString(b, attrName, a.Name)
	switch a.Kind {
	case AttrFloat:
		b = protowire.AppendTag(b, attrF, protowire.Fixed32Type)
		b = protowire.AppendFixed32(b, math.Float32bits(a.F))
	case AttrInt:
		b = protowire.AppendTag(b, attrI, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(a.I))
	case AttrString:
		b = appendString(b, attrS, a.S)
	case AttrFloats:
		for _, f := range a.Floats {
			b = protowire.AppendTag(b, attrFloats, protowire.Fixed32Type)
			b = protowire.AppendFixed32(b, math.Float32bits(f))
		}
	case AttrInts:
		for _, i := range a.Ints {
			b = protowire.AppendTag(b, attrInts, protowire.VarintType)
			b = protowire.AppendVarint(b, uint64(i))
		}
	case AttrStrings:
		for _, s := range a.Strings {
			b = appendString(b, attrStrings, s)
		}
	default:
		panic(fmt.Sprintf("onnx: attribute %s of kind %d", a.Name, a.Kind))
	}
	b = protowire.AppendTag(b, attrType, protowire.VarintType)
	return protowire.AppendVarint(b, uint64(a.Kind))
}

func appendTensor(b []byte, t tensor) []byte {
	for _, d := range t.dims {
		b = protowire.AppendTag(b, tensorDims, protowire.VarintType)
		b = protowire.AppendVarint(b, uint64(d))
	}
	b = protowire.AppendTag(b, tensorType, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(t.dtype))
	b = appendString(b, tensorName, t.name)
	var raw []byte
	switch t.dtype {
	case Float:
		raw = make([]byte, 0, 4*len(t.f32))
		for _, f := range t.f32 {
			raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(f))
		}
	case Int64:
		raw = make([]byte, 0, 8*len(t.i64))
		for _, i := range t.i64 {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(i))
		}
	default:
		panic(fmt.Sprintf("onnx: initializer %s of type %d", t.name, t.dtype))
	}
	b = protowire.AppendTag(b, tensorRaw, protowire.BytesType)
	return protowire.AppendBytes(b, raw)
}

func appendValueInfo(b []byte, v valueInfo) []byte {
	b = appendString(b, valueName, v.name)
	var shape []byte
	for _, d := range v.dims {
		var dim []byte
		switch d := d.(type) {
		case int:
			dim = protowire.AppendTag(dim, dimValue, protowire.VarintType)
			dim = protowire.AppendVarint(dim, uint64(d))
		case string:
			dim = appendString(dim, dimParam, d)
		default:
			panic(fmt.Sprintf("onnx: dimension %v of %s is neither an int nor a name", d, v.name))
		}
		shape = appendMessage(shape, shapeDim, dim)
	}
	var tt []byte
	tt = protowire.AppendTag(tt, tensorElem, protowire.VarintType)
	tt = protowire.AppendVarint(tt, uint64(v.dtype))
	tt = appendMessage(tt, tensorShape, shape)
	return appendMessage(b, valueType, appendMessage(nil, typeTensor, tt))
}

func appendString(b []byte, field protowire.Number, s string) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendString(b, s)
}

func appendMessage(b []byte, field protowire.Number, m []byte) []byte {
	b = protowire.AppendTag(b, field, protowire.BytesType)
	return protowire.AppendBytes(b, m)
}
