package pipeline

import (
	"fmt"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
)

// Format names a source file format.
type Format string

// The formats Open reads.
const (
	CSV         Format = "csv"     // comma-separated, header row, RFC 4180 quoting
	TSV         Format = "tsv"     // tab-separated, header row
	JSONL       Format = "jsonl"   // one JSON object per line
	CoNLL       Format = "conll"   // token per line, blank line between sentences (CoNLL-U included)
	Text        Format = "text"    // one example per line
	Dict        Format = "dict"    // pronunciation dictionary: word, then its pronunciation (CMUdict)
	Parquet     Format = "parquet" // read through pqarrow
	ArrowFile   Format = "arrow"   // Arrow IPC file format
	ArrowStream Format = "arrows"  // Arrow IPC stream format
)

var extFormats = map[string]Format{
	".csv": CSV, ".tsv": TSV, ".tab": TSV, ".jsonl": JSONL, ".ndjson": JSONL,
	".conll": CoNLL, ".conllu": CoNLL, ".iob": CoNLL, ".bio": CoNLL,
	".txt": Text, ".text": Text, ".dict": Dict, ".parquet": Parquet, ".pq": Parquet,
	".arrow": ArrowFile, ".feather": ArrowFile, ".ipc": ArrowFile, ".arrows": ArrowStream,
}

// FormatOf returns the format a file's extension implies, looking through a
// compression extension (.gz, .zst).
func FormatOf(path string) (Format, error) {
	base, _ := trimCompression(path)
	ext := strings.ToLower(filepath.Ext(base))
	if f, ok := extFormats[ext]; ok {
		return f, nil
	}
	return "", fmt.Errorf("pipeline: %s: cannot tell the format from the extension %q; name it (csv, tsv, jsonl, conll, text, dict, parquet, arrow, arrows)", path, ext)
}

// ParseFormat checks a format name.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case CSV, TSV, JSONL, CoNLL, Text, Dict, Parquet, ArrowFile, ArrowStream:
		return f, nil
	case "ipc", "feather":
		return ArrowFile, nil
	case "conllu":
		return CoNLL, nil
	}
	return "", fmt.Errorf("pipeline: unknown format %q (want csv, tsv, jsonl, conll, text, dict, parquet, arrow or arrows)", s)
}

// Columns maps the fields of a source to the roles a task uses. Each field is the
// name of a source column (CSV header, JSON key, Parquet or Arrow field). For CoNLL
// files it is a 1-based column number, negative counting from the end ("-1" is the
// last column). An empty field means the role is absent.
//
// Text and Target are strings that a tokenizer splits later; Tokens and Tags are
// lists of strings, taken as they are from list columns and JSON arrays, or split on
// white space when the source holds a string.
type Columns struct {
	Text   string `json:"text,omitempty"`
	Tokens string `json:"tokens,omitempty"`
	Tags   string `json:"tags,omitempty"`
	Label  string `json:"label,omitempty"`
	Target string `json:"target,omitempty"`
	// Feature is an extra input attribute of each token, aligned with the
	// tokens (the part-of-speech column of CoNLL-2000), embedded beside them.
	Feature string `json:"feature,omitempty"`
	// Vector is a list of numbers per example, of one length in every row (an
	// image's embedding to caption, a user's profile): what a generator can be
	// conditioned on. Written as a JSON array, or numbers separated by spaces or
	// commas.
	Vector string `json:"vector,omitempty"`
}

// Role is one of the fields of [Columns].
type Role int

// The roles, in the order of the output schema.
const (
	RoleText Role = iota
	RoleTokens
	RoleTags
	RoleLabel
	RoleTarget
	RoleFeature
	RoleVector
	numRoles
)

var roleNames = [numRoles]string{"text", "tokens", "tags", "label", "target", "feature", "vector"}

func (r Role) String() string { return roleNames[r] }

// isList reports whether the role holds a list of strings.
func (r Role) isList() bool {
	return r == RoleTokens || r == RoleTags || r == RoleFeature || r == RoleVector
}

// fields splits a list written as one string: on white space, and for a vector
// on commas too.
func fields(r Role, s string) []string {
	if r == RoleVector {
		return strings.FieldsFunc(s, func(c rune) bool { return c == ',' || unicode.IsSpace(c) })
	}
	return strings.Fields(s)
}

func (c Columns) get(r Role) string {
	return [numRoles]string{c.Text, c.Tokens, c.Tags, c.Label, c.Target, c.Feature, c.Vector}[r]
}

// roles lists the roles that are mapped, in schema order.
func (c Columns) roles() []Role {
	var rs []Role
	for r := Role(0); r < numRoles; r++ {
		if c.get(r) != "" {
			rs = append(rs, r)
		}
	}
	return rs
}

// Source is one split's data: a file, its format (empty: from the extension) and
// the column mapping. Path may also be a glob (train-*.jsonl.gz) or a folder of
// shards, and Paths a list of files, globs and folders: see [Source.Shards].
// Text files may be compressed (.gz, .zst), read by their extension. For the text format, Files names parallel files whose line i
// together form example i, one file per role (ATIS's seq.in, seq.out and label);
// a single Path of text format fills the Text role.
type Source struct {
	Path string `json:"path,omitempty"`
	// Paths, in place of Path, lists the shards: files, globs or folders.
	Paths   []string `json:"paths,omitempty"`
	Format  Format   `json:"format,omitempty"`
	Columns Columns  `json:"columns,omitempty"`
	Files   Columns  `json:"files,omitempty"`
	// NoHeader says a CSV or TSV file has no header row; Columns then holds 1-based
	// column numbers, negative from the end.
	NoHeader bool `json:"no_header,omitempty"`
	// Stream reads a text file as one continuous stream (a language model's
	// corpus) instead of one example per line: examples are consecutive chunks of
	// whole lines of about StreamChunk bytes, each line ending in "\n", so a
	// character tokenizer sees the line breaks. [Stream] batches such a dataset.
	Stream bool `json:"stream,omitempty"`
	// Part, when set, keeps only one part of a seeded ratio split of the rows: a
	// dev split carved from a training file. Recipes set it from data.split.
	Part *Part `json:"part,omitempty"`
	// Content, when set, is a hash of the file's whole content computed by
	// whoever wrote it (a generated split): the cache fingerprint uses it in
	// place of the path and modification time, so the same generated data,
	// written to another folder, finds its encoding in the cache.
	Content string `json:"content,omitempty"`
}

// Part selects part Index of a [RatioSplit] of a source's rows.
type Part struct {
	Split RatioSplit `json:"split"`
	Index int        `json:"index"`
}

// RowField is the name of the int64 column that records where each example came
// from: its 1-based line in text formats (the first line of a CoNLL sentence), its
// 1-based row in Parquet and Arrow sources.
const RowField = "row"

// Schema returns the schema of the records read for the given roles: the row
// position, then each role in order, strings as utf8 and token or tag lists as
// list<utf8>. [ShardSchema] adds the shard column of a sharded source.
func Schema(roles []Role) *arrow.Schema { return schema(roles, false) }

// ShardSchema is [Schema] with the [ShardField] column after the row column.
func ShardSchema(roles []Role) *arrow.Schema { return schema(roles, true) }

func schema(roles []Role, sharded bool) *arrow.Schema {
	fields := []arrow.Field{{Name: RowField, Type: arrow.PrimitiveTypes.Int64}}
	if sharded {
		fields = append(fields, arrow.Field{Name: ShardField, Type: arrow.PrimitiveTypes.Int32})
	}
	for _, r := range roles {
		var t arrow.DataType = arrow.BinaryTypes.String
		if r.isList() {
			t = arrow.ListOf(arrow.BinaryTypes.String)
		}
		fields = append(fields, arrow.Field{Name: r.String(), Type: t})
	}
	return arrow.NewSchema(fields, nil)
}
