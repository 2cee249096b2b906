package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/plugins"
)

// Long on purpose: the plugins command and its three subcommands,
// each its help, flags and run, as cobra defines them.
func newPluginsCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "plugins",
		Short: "List and describe the task plugins seqkit can run",
		Long: `A task plugin is a binary named seqkit-plugin-NAME that provides the task NAME;
a recipe runs it with task: {type: plugin, name: NAME}. seqkit looks for plugins
in --plugin-dir, then in the folders of $SEQKIT_PLUGIN_PATH, then in ./plugins/bin.`,
		Example: `  go build -o plugins/bin/seqkit-plugin-forecast ./plugins/examples/forecast/cmd/seqkit-plugin-forecast
  seqkit plugins list
  seqkit plugins describe forecast
  seqkit run forecast-min-temp`,
		Args: args(cobra.NoArgs),
	}
	var asJSON bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the plugins found: name, version, protocol, path, sha256, task",
		Example: `  seqkit plugins list
  seqkit plugins list --plugin-dir ./build --json`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			e.registry() // sets the search folders
			found, err := e.host.Discover()
			if err != nil {
				return err
			}
			names := make([]string, 0, len(found))
			for n := range found {
				names = append(names, n)
			}
			slices.Sort(names)
			w := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			if !asJSON {
				fmt.Fprintln(w, "NAME\tVERSION\tPROTOCOL\tPATH\tSHA256\tTASK")
			}
			enc := json.NewEncoder(c.OutOrStdout())
			var failed []string
			for _, n := range names {
				p, err := e.host.Launch(n, "") // checked against its folder's lock file, if any
				if err != nil {
					fmt.Fprintf(c.ErrOrStderr(), "seqkit: %v\n", err)
					failed = append(failed, n)
					continue
				}
				e.host.Stop(p)
				if asJSON {
					enc.Encode(map[string]any{"name": n, "version": p.Desc.Version, "protocol": p.Protocol,
						"path": p.Path, "sha256": p.SHA256, "task": p.Desc.Description})
					continue
				}
				fmt.Fprintf(w, "%s\t%s\t%d\t%s\t%s\t%s\n", n, p.Desc.Version, p.Protocol, p.Path, p.SHA256, p.Desc.Description)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if len(failed) > 0 {
				// The others are listed; a script still learns that not all work.
				return fmt.Errorf("%d of %d plugins did not start: %s", len(failed), len(names), strings.Join(failed, ", "))
			}
			return nil
		},
	}
	list.Flags().BoolVar(&asJSON, "json", false, "one JSON object per plugin")
	describe := &cobra.Command{
		Use:     "describe NAME",
		Short:   "Describe a plugin: its task, metric and the recipe keys it accepts",
		Example: `  seqkit plugins describe forecast`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			e.registry()
			p, err := e.host.Launch(a[0], "")
			if err != nil {
				return err
			}
			e.host.Stop(p)
			d := p.Desc
			out := c.OutOrStdout()
			fmt.Fprintf(out, "%s %s (protocol %d)\n%s\n\npath:   %s\nsha256: %s\nmetric: %s (%s is better)\n",
				d.Name, d.Version, p.Protocol, d.Description, p.Path, p.SHA256, d.Metric, map[bool]string{true: "higher", false: "lower"}[d.HigherIsBetter])
			fmt.Fprintf(out, "\nrecipe: task: {type: plugin, name: %s, sha256: %s, options: {…}}\noptions:\n", d.Name, p.SHA256)
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			for _, o := range d.Options {
				fmt.Fprintf(w, "  %s\t%s\t(default %s)\t%s\n", o.Name, o.Type, o.Default, o.Doc)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			fmt.Fprintf(out, "capabilities: %s\n", strings.Join(d.Capabilities, ", "))
			if len(d.Tables) > 0 {
				fmt.Fprintf(out, "tables (data.tables: - {name: NAME, path: FILE}):\n")
				for _, t := range d.Tables {
					var cols []string
					for _, c := range t.Columns {
						cols = append(cols, fmt.Sprintf("%s (%s)", c.Name, c.Type))
					}
					fmt.Fprintf(out, "  %s: %s\n    columns: %s\n", t.Name, t.Doc, strings.Join(cols, ", "))
				}
			}
			return nil
		},
	}
	lock := &cobra.Command{
		Use:   "lock",
		Short: "Pin every plugin of a folder at its current sha256 (seqkit-plugins.lock)",
		Long: `lock writes seqkit-plugins.lock into the plugin folder (--plugin-dir, else
./plugins/bin): one line per plugin, its name and sha256. Before starting a plugin
found in that folder, seqkit checks the binary against it and refuses one that
changed; a recipe's task.sha256 takes precedence.`,
		Example: `  seqkit plugins lock
  seqkit plugins lock --plugin-dir ./build`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			dir := cmp.Or(e.pluginDir, plugins.DefaultDir)
			pins, err := plugins.WriteLock(dir)
			if err != nil {
				return err
			}
			for _, n := range slices.Sorted(maps.Keys(pins)) {
				fmt.Fprintf(c.OutOrStdout(), "%s %s\n", n, pins[n])
			}
			fmt.Fprintf(c.ErrOrStderr(), "pinned %d plugins in %s\n", len(pins), filepath.Join(dir, plugins.LockFile))
			return nil
		},
	}
	c.AddCommand(list, describe, lock)
	return c
}
