package recipes

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/seqkit/seqkit/pipeline"
)

// The files of a prepared dataset folder that a recipe reads (the folder's
// format is the prepared package's).
const (
	preparedManifest = "manifest.json"
	preparedData     = "data.yaml"
)

// preparedKeys are the data keys a prepared dataset fixes.
var preparedKeys = []string{"train", "dev", "test", "generate", "split", "tokenizer", "vocab"}

// PreparedYAML is the part of the data section that a prepared dataset fixes:
// the sources (generated ones already written to files), the dev split and the
// tokenizer and vocabulary settings. seqkit data prepare writes it beside the
// dataset; a recipe with data.prepared takes it as its own.
//
// Paths inside folder dir (the dataset's own, where generated splits are
// written) are written relative to it, so the folder can move.
func (d *Data) PreparedYAML(dir string) ([]byte, error) {
	rel := func(s Source) Source {
		s.Paths = slices.Clone(s.Paths)
		for _, p := range append([]*string{&s.Path, &s.Files.Text, &s.Files.Tokens, &s.Files.Tags, &s.Files.Label, &s.Files.Target, &s.Files.Feature, &s.Files.Vector}, pointers(s.Paths)...) {
			if r, err := filepath.Rel(dir, *p); *p != "" && err == nil && filepath.IsLocal(r) {
				*p = r
			}
		}
		return s
	}
	fixed := struct {
		Train     Source    `yaml:"train"`
		Dev       Source    `yaml:"dev,omitempty"`
		Test      Source    `yaml:"test,omitempty"`
		Split     *Split    `yaml:"split,omitempty"`
		Tokenizer Tokenizer `yaml:"tokenizer"`
		Vocab     Vocab     `yaml:"vocab"`
	}{rel(d.Train), rel(d.Dev), rel(d.Test), d.Split, d.Tokenizer, d.Vocab}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(fixed); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// prepared lays the recipe's data section over the one a prepared dataset
// was made from (data.prepared: DIR), so the recipe trains on the dataset's
// splits, tokenizer and vocabularies. Giving any of those beside it is an
// error: the encoded data could not follow the change.
func (l *loader) prepared(root *yaml.Node) {
	i := mapIndex(root, "data")
	if i < 0 || root.Content[i+1].Kind != yaml.MappingNode {
		return
	}
	data := root.Content[i+1]
	j := mapIndex(data, "prepared")
	if j < 0 {
		return
	}
	v := data.Content[j+1]
	if v.Kind != yaml.ScalarNode || v.Value == "" {
		l.errAt(v, "data.prepared", "needs the folder that seqkit data prepare -o wrote")
		return
	}
	// Keys written beside data.prepared contradict it; keys inherited from
	// an extended recipe (its own data) give way to it.
	for _, key := range preparedKeys {
		x := mapIndex(data, key)
		if x < 0 {
			continue
		}
		if l.from(data.Content[x+1], l.origins[v].file) || l.origins[data.Content[x]].file == l.origins[v].file {
			l.errAt(data.Content[x], "data."+key, "comes from data.prepared (%s): drop it here, or prepare the data again with the change", v.Value)
			continue
		}
		data.Content = slices.Delete(data.Content, x, x+2)
	}
	dir := l.resolve(v.Value, l.origins[v].dir)
	if _, err := os.Stat(filepath.Join(dir, preparedManifest)); err != nil {
		l.errAt(v, "data.prepared", "%s has no %s: not a prepared dataset, or one whose preparation did not finish (run seqkit data prepare RECIPE -o %s)", dir, preparedManifest, dir)
		return
	}
	file := filepath.Join(dir, preparedData)
	b, err := pipeline.ReadFileLimited(file, 1<<20)
	if err != nil {
		l.errAt(v, "data.prepared", "%s: %v", file, err)
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		l.errAt(v, "data.prepared", "%s is not the data section seqkit data prepare writes", file)
		return
	}
	base := doc.Content[0]
	l.mark(base, origin{file, dir})
	root.Content[i+1] = merge(base, data)
}

func pointers(s []string) []*string {
	ps := make([]*string, len(s))
	for i := range s {
		ps[i] = &s[i]
	}
	return ps
}

// from reports whether any part of n was written in file or by --set (a
// merged mapping keeps the node of the recipe it extends).
func (l *loader) from(n *yaml.Node, file string) bool {
	if f := l.origins[n].file; f == file || strings.HasPrefix(f, "--set ") {
		return true
	}
	for _, c := range n.Content {
		if l.from(c, file) {
			return true
		}
	}
	return false
}
