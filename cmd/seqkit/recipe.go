package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/seqkit/seqkit/recipes"
)

func newRecipeCmd(e *env) *cobra.Command {
	c := &cobra.Command{
		Use:   "recipe",
		Short: "Validate, show and list recipes; print the recipe JSON Schema",
		Example: `  seqkit recipe list
  seqkit recipe show taipei
  seqkit recipe validate my.yaml`,
	}
	vf, sf := recipeFlags{env: e}, recipeFlags{env: e}
	validate := &cobra.Command{
		Use:   "validate RECIPE...",
		Short: "Check recipes completely (keys, types, values, files, columns) without running them",
		Example: `  seqkit recipe validate my.yaml
  seqkit recipe validate my.yaml --set model.cell=gru`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			for _, p := range a {
				r, err := vf.load(p, false)
				if err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "%s: ok (%s, task %s)\n", p, r.Name, r.Task.Type)
			}
			return nil
		},
	}
	vf.add(validate)
	show := &cobra.Command{
		Use:   "show RECIPE",
		Short: "Print the effective recipe: extends and overrides applied, every default stated",
		Example: `  seqkit recipe show taipei
  seqkit recipe show my.yaml --set train.lr=0.003`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			r, err := sf.load(a[0], true)
			if err != nil {
				return err
			}
			y, err := r.YAML()
			if err != nil {
				return err
			}
			_, err = c.OutOrStdout().Write(y)
			return err
		},
	}
	sf.add(show)
	list := &cobra.Command{
		Use:     "list",
		Short:   "List the built-in recipes",
		Example: "  seqkit recipe list\n  seqkit run taipei   # run one of them",
		Args:    args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			tw := tabwriter.NewWriter(c.OutOrStdout(), 0, 4, 2, ' ', 0)
			for _, name := range recipes.Names() {
				b, _ := recipes.Builtin(name)
				var head struct {
					Description string `yaml:"description"`
					Task        struct {
						Type string `yaml:"type"`
					} `yaml:"task"`
				}
				yaml.Unmarshal(b, &head)
				fmt.Fprintf(tw, "%s\t%s\t%s\n", name, head.Task.Type, head.Description)
			}
			return tw.Flush()
		},
	}
	schema := &cobra.Command{
		Use:   "schema",
		Short: "Print the JSON Schema of recipe files (for editor completion and checks)",
		Example: `  seqkit recipe schema > recipe.schema.json
  # then, first line of a recipe:  # yaml-language-server: $schema=recipe.schema.json`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			b, err := recipes.Schema(e.registry())
			if err != nil {
				return err
			}
			_, err = fmt.Fprintln(c.OutOrStdout(), string(b))
			return err
		},
	}
	c.AddCommand(validate, show, list, schema)
	return c
}
