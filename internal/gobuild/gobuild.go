// Package gobuild builds the binaries that tests start (the CLI, plugins) with
// the build tags of the running test binary: under -tags purego both sides then
// compute with the same kernels, and their results compare exactly.
package gobuild

import (
	"os/exec"
	"runtime/debug"
)

// Command returns `go build ARGS` with this binary's build tags.
func Command(args ...string) *exec.Cmd {
	a := []string{"build"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "-tags" && s.Value != "" {
				a = append(a, "-tags", s.Value)
			}
		}
	}
	return exec.Command("go", append(a, args...)...)
}
