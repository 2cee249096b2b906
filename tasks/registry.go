package tasks

import (
	"fmt"
	"slices"

	"github.com/seqkit/seqkit/recipes"
)

// Type is a registered task type: how to make its options, check a recipe
// against it and create the task.
type Type struct {
	Name string
	// Options returns a pointer to a new options struct holding the defaults;
	// recipes decodes the task section into it strictly.
	Options func() any
	// Check reports what in a recipe does not fit this task; nil checks nothing.
	Check func(r *recipes.Recipe) []recipes.KeyError
	// New returns a task ready for Init or Load.
	New func() Task
}

// Registry holds the task types a program knows. It is filled explicitly by the
// program (the CLI registers the built-in tasks), never by init functions, so a
// test or an embedding program chooses exactly what is there.
type Registry struct {
	types map[string]Type
}

// Register adds a task type; a second type of the same name is an error.
func (r *Registry) Register(t Type) error {
	if t.Name == "" || t.Options == nil || t.New == nil {
		return fmt.Errorf("tasks: a task type needs a name, Options and New")
	}
	if r.types == nil {
		r.types = map[string]Type{}
	}
	if _, dup := r.types[t.Name]; dup {
		return fmt.Errorf("tasks: task type %q registered twice", t.Name)
	}
	r.types[t.Name] = t
	return nil
}

// New creates a task of the recipe's type.
func (r *Registry) New(typ string) (Task, error) {
	t, ok := r.types[typ]
	if !ok {
		return nil, fmt.Errorf("tasks: unknown task type %q", typ)
	}
	return t.New(), nil
}

// TaskNames implements [recipes.TaskTypes].
func (r *Registry) TaskNames() []string {
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// TaskOptions implements [recipes.TaskTypes].
func (r *Registry) TaskOptions(typ string) (any, bool) {
	t, ok := r.types[typ]
	if !ok {
		return nil, false
	}
	return t.Options(), true
}

// CheckRecipe implements [recipes.TaskTypes].
func (r *Registry) CheckRecipe(rc *recipes.Recipe) []recipes.KeyError {
	t, ok := r.types[rc.Task.Type]
	if !ok || t.Check == nil {
		return nil
	}
	return t.Check(rc)
}
