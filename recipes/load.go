package recipes

import (
	"errors"
	"fmt"
	"io/fs"
	"iter"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/seqkit/seqkit/pipeline"

	"github.com/seqkit/seqkit/internal/quote"
)

// TaskTypes tells [Load] which task types exist and what each one's options are,
// so that the task section is decoded as strictly as the rest. The task registry
// implements it; recipes does not import the tasks.
type TaskTypes interface {
	// TaskNames lists the known task types.
	TaskNames() []string
	// TaskOptions returns a pointer to a new options struct of a task type, holding
	// its defaults, or false for an unknown type.
	TaskOptions(typ string) (any, bool)
	// CheckRecipe reports what does not fit the task in an otherwise valid recipe
	// (a missing data column, an option the task cannot use).
	CheckRecipe(r *Recipe) []KeyError
}

// Defaulter is an optional section (a pointer field, such as model.char) that
// fills its own defaults when a recipe turns it on, so "char: {}" means the
// default character layer.
type Defaulter interface {
	Defaults()
}

// Options control [Load].
type Options struct {
	// Sets are overrides, KEY=VALUE with a dotted key (model.hidden=256); the value
	// is YAML (3, true, [a, b], "text").
	Sets []string
	// DataRoot replaces ${data} at the start of paths: the folder that holds the
	// public datasets the built-in recipes use.
	DataRoot string
	// Tasks knows the task types; nil accepts none.
	Tasks TaskTypes
	// SkipData skips opening the data files (for recipe show).
	SkipData bool
	// Alone refuses extends: a run directory's recipe is read on its own, so a
	// model folder cannot make seqkit read files outside it.
	Alone bool
}

// DataRootEnv is the environment variable that sets the data root when no flag does.
const DataRootEnv = "SEQKIT_DATA"

// DefaultDataRoot is the data root when neither flag nor environment sets one: the
// shared datasets beside this repository.
const DefaultDataRoot = "../shared/datasets"

// maxExtends bounds the chain of extends, which also stops cycles.
const maxExtends = 16

// origin is where a YAML node came from.
type origin struct {
	file string // for messages
	dir  string // for relative paths; "" for built-ins
}

// loader holds the state of one Load.
type loader struct {
	opt     Options
	origins map[*yaml.Node]origin
	keys    map[string]*yaml.Node // key path → value node, for later errors
	chain   []string              // files of the extends chain being read (absolute)
	names   []string              // the same, as named to the user
	errs    Errors
	data    []byte // Parse's recipe, read instead of the file at depth 0
}

// Load reads the recipe at path (or the built-in recipe of that name when no such
// file exists), applies extends and the overrides, checks every key, type and
// value, resolves paths and checks that the data exists. All problems found are
// returned together as [Errors].
func Load(path string, opt Options) (*Recipe, error) {
	return load(path, nil, opt)
}

// Parse reads a recipe from data as Load reads a file, name standing for the
// file in messages. Relative paths resolve against the working directory, and
// extends is refused: a recipe sent as data (the host's to a plugin, every
// default stated) is whole.
func Parse(name string, data []byte, opt Options) (*Recipe, error) {
	opt.Alone = true
	return load(name, data, opt)
}

func load(path string, data []byte, opt Options) (*Recipe, error) {
	l := &loader{opt: opt, origins: map[*yaml.Node]origin{}, keys: map[string]*yaml.Node{}, data: data}
	root, err := l.tree(path, "", 0)
	if err != nil {
		return nil, err
	}
	for _, s := range opt.Sets {
		l.set(root, s)
	}
	if !opt.Alone {
		l.prepared(root)
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	r := Default()
	l.check(root, reflect.ValueOf(&r).Elem(), "")
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	for _, ke := range r.validate() {
		l.keyErr(ke)
	}
	if len(l.errs) == 0 && opt.Tasks != nil {
		for _, ke := range opt.Tasks.CheckRecipe(&r) {
			l.keyErr(ke)
		}
	}
	if len(l.errs) == 0 && !opt.SkipData {
		l.checkData(&r)
	}
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	if r.Name == "" {
		r.Name = strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	}
	return &r, nil
}

// tree reads one recipe file, and the files it extends, into one merged mapping node.
func (l *loader) tree(path, fromDir string, depth int) (*yaml.Node, error) {
	if depth > maxExtends {
		return nil, fmt.Errorf("%s: extends: more than %d levels (a cycle?): %w", path, maxExtends, ErrRecipe)
	}
	file, data, dir, err := path, l.data, ".", error(nil)
	if depth > 0 || l.data == nil {
		file, data, dir, err = readRecipe(path, fromDir)
	}
	if err != nil {
		return nil, err
	}
	id := file
	if dir != "" {
		id, _ = filepath.Abs(file)
	}
	if slices.Contains(l.chain, id) {
		return nil, errCycle{append(slices.Clone(l.names), file)}
	}
	l.chain, l.names = append(l.chain, id), append(l.names, file)
	defer func() { l.chain, l.names = l.chain[:len(l.chain)-1], l.names[:len(l.names)-1] }()
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, yamlSyntaxError(file, err)
	}
	root := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
	if len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	l.mark(root, origin{file, dir})
	if root.Kind != yaml.MappingNode {
		return nil, Errors{{File: file, Line: root.Line, Column: root.Column, Msg: "a recipe is a mapping of sections (data, model, task, train, output)"}}
	}
	for i := 0; i < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value != "extends" {
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Value == "" {
			return nil, Errors{{File: file, Line: v.Line, Column: v.Column, Key: "extends", Msg: "needs a recipe path or built-in name"}}
		}
		if l.opt.Alone {
			return nil, Errors{{File: file, Line: k.Line, Column: k.Column, Key: "extends", Msg: "a run directory's recipe is complete and extends nothing; seqkit does not follow it out of the folder (was the file edited?)"}}
		}
		base, err := l.tree(v.Value, dir, depth+1)
		var cyc errCycle
		if errors.As(err, &cyc) {
			return nil, Errors{{File: file, Line: v.Line, Column: v.Column, Key: "extends", Msg: "extends itself: " + strings.Join(cyc.files, " → ")}}
		}
		var missing *Error
		if errors.As(err, &missing) && missing.Line == 0 && missing.File == v.Value {
			return nil, Errors{{File: file, Line: v.Line, Column: v.Column, Key: "extends", Msg: fmt.Sprintf("%s is %s", v.Value, missing.Msg)}}
		}
		if err != nil {
			return nil, err
		}
		root.Content = slices.Delete(root.Content, i, i+2)
		// What names and describes the base does not carry over to a recipe
		// that does not say: its runs are named after its own file, and one
		// that reads other data is not described as reading the base's.
		if mapIndex(root, "name") < 0 {
			if j := mapIndex(base, "name"); j >= 0 {
				base.Content = slices.Delete(base.Content, j, j+2)
			}
		}
		if mapIndex(root, "description") < 0 && mapIndex(root, "data") >= 0 {
			if j := mapIndex(base, "description"); j >= 0 {
				d := base.Content[j+1]
				d.Value = fmt.Sprintf("the %s recipe on the data of %s (%s: %s)", v.Value, file, v.Value, d.Value)
				l.mark(d, origin{file, dir})
			}
		}
		return merge(base, root), nil
	}
	return root, nil
}

// errCycle is a chain of extends that comes back to a file in it.
type errCycle struct{ files []string }

func (e errCycle) Error() string { return "extends cycle: " + strings.Join(e.files, " → ") }

// readRecipe returns the recipe file's name for messages, its content and its folder.
// A path that names no file but a built-in recipe gives the built-in.
func readRecipe(path, fromDir string) (file string, data []byte, dir string, err error) {
	p := path
	if fromDir != "" && !filepath.IsAbs(p) {
		p = filepath.Join(fromDir, p)
	}
	data, err = readLimited(p, maxRecipeBytes)
	if err == nil {
		return filepath.Clean(p), data, filepath.Dir(p), nil
	}
	if b, ok := builtin(path); ok {
		return "builtin:" + path, b, "", nil // a folder named taipei does not hide the demo
	}
	var bad *Error
	if errors.As(err, &bad) {
		bad.File = path // as the user wrote it, which an extends error matches
		return "", nil, "", bad
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil, "", &Error{File: path, Msg: "not a file, nor a built-in recipe (" + strings.Join(Names(), ", ") + ")"}
	}
	return "", nil, "", err
}

// yamlSyntaxError turns yaml's message ("yaml: line 3: ...") into file:line.
func yamlSyntaxError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, tail, ok := strings.Cut(rest, ": "); ok {
			if v, e := strconv.Atoi(n); e == nil {
				line, msg = v, tail
			}
		}
	}
	return Errors{{File: file, Line: line, Column: 1, Msg: "YAML syntax: " + msg}}
}

func (l *loader) mark(n *yaml.Node, o origin) {
	l.origins[n] = o
	for _, c := range n.Content {
		l.mark(c, o)
	}
}

// merge lays over on top of base: mappings merge key by key, anything else replaces.
func merge(base, over *yaml.Node) *yaml.Node {
	if base.Kind != yaml.MappingNode || over.Kind != yaml.MappingNode {
		return over
	}
	for i := 0; i < len(over.Content); i += 2 {
		k, v := over.Content[i], over.Content[i+1]
		if j := mapIndex(base, k.Value); j >= 0 {
			base.Content[j+1] = merge(base.Content[j+1], v)
		} else {
			base.Content = append(base.Content, k, v)
		}
	}
	return base
}

func mapIndex(m *yaml.Node, key string) int {
	for i := 0; i < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i
		}
	}
	return -1
}

// set applies one KEY=VALUE override to the tree.
func (l *loader) set(root *yaml.Node, s string) {
	file := "--set " + s
	key, val, ok := strings.Cut(s, "=")
	if !ok || key == "" {
		l.errs = append(l.errs, &Error{File: file, Msg: "want KEY=VALUE, such as model.hidden=256"})
		return
	}
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(val), &doc); err != nil {
		l.errs = append(l.errs, &Error{File: file, Key: key, Msg: "value is not YAML: " + strings.TrimPrefix(err.Error(), "yaml: ")})
		return
	}
	v := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: ""}
	if len(doc.Content) > 0 {
		v = doc.Content[0]
	}
	cwd, _ := os.Getwd()
	l.mark(v, origin{file, cwd})
	// Positions in an override point at the value within the argument.
	setPos(v, len(key)+2)
	n := root
	parts := strings.Split(key, ".")
	for i, p := range parts {
		j := mapIndex(n, p)
		if i == len(parts)-1 {
			if j >= 0 {
				n.Content[j+1] = merge(n.Content[j+1], v)
			} else {
				k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p, Line: 1, Column: 1}
				l.mark(k, origin{file, cwd})
				n.Content = append(n.Content, k, v)
			}
			return
		}
		if j < 0 {
			k := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p, Line: 1, Column: 1}
			m := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: 1, Column: 1}
			l.mark(k, origin{file, cwd})
			l.mark(m, origin{file, cwd})
			n.Content = append(n.Content, k, m)
			n = m
			continue
		}
		n = n.Content[j+1]
		if n.Kind != yaml.MappingNode {
			l.errs = append(l.errs, &Error{File: file, Key: strings.Join(parts[:i+1], "."), Msg: "is not a section, so it has no key " + parts[i+1]})
			return
		}
	}
}

func setPos(n *yaml.Node, col int) {
	n.Line, n.Column = 1, n.Column+col-1
	if n.Column < col {
		n.Column = col
	}
	for _, c := range n.Content {
		setPos(c, col)
	}
}

func (l *loader) errAt(n *yaml.Node, key, format string, args ...any) {
	o := l.origins[n]
	l.errs = append(l.errs, &Error{File: o.file, Line: n.Line, Column: n.Column, Key: key, Msg: fmt.Sprintf(format, args...)})
}

// keyErr places an error found after decoding at its key, or at the nearest
// enclosing key that the files state.
func (l *loader) keyErr(ke KeyError) {
	for k := ke.Key; k != ""; k = parentKey(k) {
		if n, ok := l.keys[k]; ok {
			l.errAt(n, ke.Key, "%s", ke.Msg)
			return
		}
	}
	file := "recipe"
	for _, o := range l.origins {
		file = o.file
		break
	}
	l.errs = append(l.errs, &Error{File: file, Key: ke.Key, Msg: ke.Msg})
}

func parentKey(k string) string {
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		return k[:i]
	}
	return ""
}

var (
	taskType   = reflect.TypeFor[Task]()
	sourceType = reflect.TypeFor[Source]()
)

// check walks node against the Go value it decodes into, reporting unknown keys,
// wrong types and out-of-range values with positions, and decodes what is valid.
// yaml.v3's own decoder is not used for structs because Node.Decode ignores
// KnownFields, and its type errors carry no column or key path.
// Long on purpose: one switch over the reflect kinds of the recipe's
// fields, each with the message its YAML node gets.
func (l *loader) check(n *yaml.Node, v reflect.Value, key string) {
	l.keys[key] = n
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n.Tag == "!!null" && v.Kind() != reflect.Pointer && v.Kind() != reflect.Interface {
		return // "key:" with no value keeps the default
	}
	switch {
	case v.Type() == taskType:
		l.checkTask(n, v.Addr().Interface().(*Task), key)
		return
	case v.Kind() == reflect.Pointer:
		if n.Tag == "!!null" {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
			if d, ok := v.Interface().(Defaulter); ok {
				d.Defaults()
			}
		}
		l.check(n, v.Elem(), key)
		return
	case v.Kind() == reflect.Struct:
		if n.Kind != yaml.MappingNode {
			l.errAt(n, key, "want a mapping of keys, got %s", describe(n))
			return
		}
		fields := yamlFields(v.Type())
		names := make([]string, 0, len(fields))
		for name := range fields {
			names = append(names, name)
		}
		slices.Sort(names)
		seen := map[string]bool{}
		for i := 0; i < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			sub := join(key, k.Value)
			idx, ok := fields[k.Value]
			if !ok {
				l.errAt(k, sub, "unknown key%s (known: %s)", didYouMean(k.Value, names), strings.Join(names, ", "))
				continue
			}
			if seen[k.Value] {
				l.errAt(k, sub, "key given twice")
				continue
			}
			seen[k.Value] = true
			fv := v.FieldByIndex(idx)
			l.check(val, fv, sub)
			if v.Type() == sourceType && (k.Value == "path" || k.Value == "paths" || k.Value == "files") {
				l.resolvePaths(val, fv)
			}
			if (v.Type() == reflect.TypeFor[Output]() && k.Value == "dir") || (v.Type() == reflect.TypeFor[Data]() && k.Value == "prepared") || (v.Type() == reflect.TypeFor[Windows]() && k.Value == "source") || (v.Type() == reflect.TypeFor[EmbeddingInit]() && k.Value == "path") || (v.Type() == reflect.TypeFor[Table]() && k.Value == "path") {
				l.resolvePaths(val, fv)
			}
			if f := v.Type().FieldByIndex(idx); fv.Kind() != reflect.Struct {
				l.checkRange(val, fv, f.Tag, sub)
			}
		}
		return
	}
	if v.Kind() == reflect.Map && v.Type().Key().Kind() == reflect.String && v.Type().Elem().Kind() == reflect.String {
		// Free keys with single values, such as a plugin task's own options,
		// which the plugin checks.
		if n.Kind != yaml.MappingNode {
			l.errAt(n, key, "want a mapping of keys, got %s", describe(n))
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
		for i := 0; i < len(n.Content); i += 2 {
			k, val := n.Content[i], n.Content[i+1]
			l.keys[join(key, k.Value)] = val
			if val.Kind != yaml.ScalarNode {
				l.errAt(val, join(key, k.Value), "want a single value, got %s", describe(val))
				continue
			}
			m.SetMapIndex(reflect.ValueOf(k.Value), reflect.ValueOf(val.Value))
		}
		v.Set(m)
		return
	}
	if v.Kind() == reflect.Slice {
		if n.Kind != yaml.SequenceNode {
			l.errAt(n, key, "want a list, got %s", describe(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, c := range n.Content {
			l.check(c, s.Index(i), fmt.Sprintf("%s[%d]", key, i))
		}
		v.Set(s)
		return
	}
	if n.Kind != yaml.ScalarNode {
		l.errAt(n, key, "want %s, got %s", kindName(v.Type()), describe(n))
		return
	}
	switch v.Kind() {
	case reflect.String:
		v.SetString(n.Value)
	case reflect.Bool:
		b, err := strconv.ParseBool(n.Value)
		if err != nil || n.Tag != "!!bool" {
			l.errAt(n, key, "want true or false, got %s", describe(n))
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		i, err := strconv.ParseInt(n.Value, 0, 64)
		if err != nil || n.Tag != "!!int" {
			l.errAt(n, key, "want an integer, got %s", describe(n))
			return
		}
		v.SetInt(i)
	case reflect.Uint64, reflect.Uint, reflect.Uint32:
		u, err := strconv.ParseUint(n.Value, 0, 64)
		if err != nil || n.Tag != "!!int" {
			l.errAt(n, key, "want a non-negative integer, got %s", describe(n))
			return
		}
		v.SetUint(u)
	case reflect.Float64, reflect.Float32:
		f, err := strconv.ParseFloat(n.Value, 64)
		if err != nil || (n.Tag != "!!float" && n.Tag != "!!int") {
			l.errAt(n, key, "want a number, got %s", describe(n))
			return
		}
		v.SetFloat(f)
	default:
		l.errAt(n, key, "cannot be set from a recipe")
	}
}

// checkRange applies the enum, min and max tags of a field to its decoded value.
func (l *loader) checkRange(n *yaml.Node, v reflect.Value, tag reflect.StructTag, key string) {
	if e := tag.Get("enum"); e != "" && v.Kind() == reflect.String {
		opts := strings.Split(e, ",")
		if !slices.Contains(opts, v.String()) {
			l.errAt(n, key, "%s is not one of %s%s", quote.Q(v.String()), strings.Join(opts, ", "), didYouMean(v.String(), opts))
		}
		return
	}
	var x float64
	switch v.Kind() {
	case reflect.Int, reflect.Int64, reflect.Int32:
		x = float64(v.Int())
	case reflect.Float64, reflect.Float32:
		x = v.Float()
	default:
		return
	}
	if s := tag.Get("min"); s != "" {
		lo, _ := strconv.ParseFloat(s, 64)
		if tag.Get("exclusiveMin") == "true" && x <= lo {
			l.errAt(n, key, "must be greater than %s, got %s", s, bound(n.Value))
		} else if x < lo {
			l.errAt(n, key, "must be at least %s, got %s", s, bound(n.Value))
		}
	}
	if s := tag.Get("max"); s != "" {
		if hi, _ := strconv.ParseFloat(s, 64); x > hi {
			l.errAt(n, key, "must be at most %s, got %s", s, bound(n.Value))
		}
	}
}

// checkTask decodes the task section: type picks the options struct, and the
// other keys are checked against it like any section.
func (l *loader) checkTask(n *yaml.Node, t *Task, key string) {
	if n.Kind != yaml.MappingNode {
		l.errAt(n, key, "want a mapping with a type, got %s", describe(n))
		return
	}
	var names []string
	if l.opt.Tasks != nil {
		names = l.opt.Tasks.TaskNames()
	}
	j := mapIndex(n, "type")
	if j < 0 {
		l.errAt(n, key+".type", "missing; one of: %s", strings.Join(names, ", "))
		return
	}
	tn := n.Content[j+1]
	l.keys[key+".type"] = tn
	if l.opt.Tasks == nil {
		l.errAt(tn, key+".type", "no task types are known here")
		return
	}
	opts, ok := l.opt.Tasks.TaskOptions(tn.Value)
	if !ok {
		l.errAt(tn, key+".type", "unknown task type %s%s (known: %s)", quote.Q(tn.Value), didYouMean(tn.Value, names), strings.Join(names, ", "))
		return
	}
	t.Type, t.Options = tn.Value, opts
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	l.origins[rest] = l.origins[n]
	rest.Content = append(append(rest.Content, n.Content[:j]...), n.Content[j+2:]...)
	l.check(rest, reflect.ValueOf(opts).Elem(), key)
}

// resolvePaths makes the paths in a decoded field absolute: ${data} becomes the
// data root, and a relative path is taken from the folder of the file that set it.
func (l *loader) resolvePaths(n *yaml.Node, v reflect.Value) {
	switch v.Kind() {
	case reflect.String:
		if v.String() != "" {
			v.SetString(l.resolve(v.String(), l.origins[n].dir))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			l.resolvePaths(n, v.Field(i))
		}
	case reflect.Slice:
		for i := range v.Len() {
			l.resolvePaths(n, v.Index(i))
		}
	}
}

func (l *loader) resolve(p, dir string) string {
	if rest, ok := strings.CutPrefix(p, "${data}"); ok {
		root := l.opt.DataRoot
		if root == "" {
			root = DefaultDataRoot
		}
		abs, _ := filepath.Abs(root)
		return filepath.Join(abs, rest)
	}
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	abs, err := filepath.Abs(filepath.Join(dir, p))
	if err != nil {
		return filepath.Join(dir, p)
	}
	return abs
}

// yamlFields maps the YAML keys of a struct type to field indexes.
func yamlFields(t reflect.Type) map[string][]int {
	out := map[string][]int{}
	for name, f := range recipeFields(t) {
		out[name] = f.Index
	}
	return out
}

// recipeFields yields the fields of a struct type that a recipe can set, by YAML
// key, as yaml.v3 names them.
func recipeFields(t reflect.Type) iter.Seq2[string, reflect.StructField] {
	return func(yield func(string, reflect.StructField) bool) {
		for _, f := range reflect.VisibleFields(t) {
			name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name == "-" || !f.IsExported() || f.Anonymous {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			if !yield(name, f) {
				return
			}
		}
	}
}

func join(key, sub string) string {
	if key == "" {
		return sub
	}
	return key + "." + sub
}

func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	switch n.Tag {
	case "!!int":
		return "the integer " + bound(n.Value)
	case "!!float":
		return "the number " + bound(n.Value)
	case "!!bool":
		return n.Value
	case "!!null":
		return "nothing"
	}
	return quote.Q(n.Value)
}

// bound cuts a value quoted in a message (a number of a million digits, say).
func bound(v string) string {
	if len(v) > quote.Max {
		return v[:quote.Max] + "…"
	}
	return v
}

func kindName(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Float32, reflect.Float64:
		return "a number"
	}
	return "an integer"
}

// fileKind names a mode that is not a regular file.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "named pipe (FIFO)"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "device"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file"
}

// maxRecipeBytes bounds a recipe file: recipes are a few hundred bytes; a larger
// file is a wrong path (a dataset given as the recipe), refused before it is read.
const maxRecipeBytes = 1 << 20

// readLimited reads a regular file of at most max bytes. Anything else is
// refused before it is opened: a directory, and a FIFO or a device such as
// /dev/stdin, whose open or read would block forever.
func readLimited(path string, max int64) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if st.IsDir() {
		return nil, &Error{File: path, Msg: "a directory, not a recipe file"}
	}
	if !st.Mode().IsRegular() {
		return nil, &Error{File: path, Msg: fmt.Sprintf("a %s, not a regular file: a recipe is a file read whole", fileKind(st.Mode()))}
	}
	b, err := pipeline.ReadFileLimited(path, max)
	if errors.Is(err, pipeline.ErrTooLarge) {
		return nil, &Error{File: path, Msg: fmt.Sprintf("larger than %d bytes: not a recipe (a data file given as the recipe?)", max)}
	}
	return b, err
}
