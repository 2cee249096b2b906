package recipes

import (
	"embed"
	"io/fs"
	"path"
	"slices"
	"strings"
)

//go:embed builtin/*.yaml
var builtins embed.FS

// DefaultRecipe is the built-in recipe that seqkit run uses when given none.
const DefaultRecipe = "taipei"

// Names lists the built-in recipes.
func Names() []string {
	entries, _ := fs.ReadDir(builtins, "builtin")
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), ".yaml"))
	}
	slices.Sort(names)
	return names
}

// Builtin returns the YAML text of a built-in recipe.
func Builtin(name string) ([]byte, bool) { return builtin(name) }

func builtin(name string) ([]byte, bool) {
	if strings.ContainsAny(name, `/\.`) {
		return nil, false
	}
	b, err := builtins.ReadFile(path.Join("builtin", name+".yaml"))
	return b, err == nil
}
