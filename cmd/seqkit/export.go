package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/seqkit/seqkit/internal/atomicfile"
	"github.com/seqkit/seqkit/onnx"
	"github.com/seqkit/seqkit/pipeline"
	"github.com/seqkit/seqkit/tasks"
	"github.com/seqkit/seqkit/tasks/kit"
	"github.com/seqkit/seqkit/tasks/rundir"
)

func newExportCmd(e *env) *cobra.Command {
	var (
		dir, format, out string
		sets             []string
	)
	c := &cobra.Command{
		Use:   "export -m RUN_DIR [--format onnx] [-o model.onnx]",
		Short: "Write a trained run's model as ONNX, for ONNX Runtime and other engines",
		Long: `export writes the best checkpoint of a run as an ONNX model (opset 17), which
ONNX Runtime, and the engines that read ONNX, run without seqkit. Tokenizing stays
with the caller: the model reads vocabulary ids, time-major ([T, B]) with the
lengths of the sequences, and carries the vocabularies (a JSON list each, the index
being the id), the recipe and how to decode in its metadata (seqkit.*).

  classify   logits and probabilities [B, classes]
  tagging    emissions [T, B, tags]; with a CRF head its transition, start and end
             scores for Viterbi (metadata seqkit.decode); with a softmax head the
             probabilities; with a joint head label_logits [B, labels]
  seq2seq    two files, NAME.encoder.onnx (memory and the decoder's first state)
             and NAME.decoder.onnx (one step: next-token scores, attention and the
             next state), run once per output token
  generate   one step with its state: scores of the next token after each of T
             tokens, and the state after them

Inputs besides ids and lengths: features (model.feature_embedding), chars and
char_lengths (model.char), ngrams (task.ngrams: the bucket ids of
kit.NGrams, padded with the bucket count). export prints each file's inputs and
outputs. An ensemble (several runs, a folder of seeds) does not export: export
each run. --set changes the decoding options that leave the weights alone, as for
eval (task.constrain for a CRF tagger).`,
		Example: `  seqkit export -m runs/taipei -o taipei.onnx
  seqkit export -m runs/cmudict-g2p -o g2p.onnx     # g2p.encoder.onnx, g2p.decoder.onnx
  seqkit export -m runs/chunk/seed-1 -o chunk.onnx`,
		Args: args(cobra.NoArgs),
		RunE: func(c *cobra.Command, _ []string) error {
			if dir == "" {
				return usageError{fmt.Errorf("export needs the run directory: -m RUN_DIR")}
			}
			if format != "onnx" {
				return usageError{fmt.Errorf("--format %q: the one format is onnx", format)}
			}
			if out == "" {
				out = filepath.Join(dir, "model.onnx")
			}
			if !strings.HasSuffix(out, ".onnx") {
				return usageError{fmt.Errorf("-o %s: name the file NAME.onnx", out)}
			}
			run, err := tasks.LoadRun(dir, e.registry(), os.Getenv("SEQKIT_DATA"), sets...)
			if err != nil {
				if _, serr := os.Stat(filepath.Join(dir, rundir.SeedsFile)); serr == nil {
					return usageError{fmt.Errorf("%s is a folder of seeds, an ensemble, which does not export: export one of its runs (-m %s)", dir, filepath.Join(dir, "seed-1"))}
				}
				return err
			}
			ex, ok := run.Task.(onnx.Exporter)
			if !ok {
				return fmt.Errorf("export: the %s task does not export to ONNX", run.Task.Info().Name)
			}
			parts, err := ex.ExportONNX()
			if err != nil {
				return err
			}
			recipe, err := pipeline.ReadFileLimited(filepath.Join(dir, rundir.RecipeFile), 1<<20)
			if err != nil {
				return err
			}
			v := run.Vocabs
			vocabs := map[string]*pipeline.Vocab{"input": v.Input, "tags": v.Tags, "labels": v.Labels, "target": v.Target, "chars": v.Chars, "feature": v.Feature}
			for _, p := range parts {
				path := out
				if p.Name != "" {
					path = strings.TrimSuffix(out, ".onnx") + "." + p.Name + ".onnx"
				}
				if err := kit.ONNXMeta(p.Graph, run.Task.Info().Name, string(recipe), vocabs); err != nil {
					return err
				}
				b, err := p.Graph.Marshal(versionString())
				if err != nil {
					return err
				}
				if err := writeStoppable(c.Context(), e, path, b); err != nil {
					return err
				}
				fmt.Fprintf(c.OutOrStdout(), "wrote %s (%.1f MB)\n%s", path, float64(len(b))/1e6, p.Graph.Signature())
			}
			return nil
		},
	}
	c.Flags().StringVarP(&dir, "model", "m", "", "the run directory (seqkit run -o)")
	c.Flags().StringVar(&format, "format", "onnx", "the format to write: onnx")
	c.Flags().StringVarP(&out, "output", "o", "", "the file to write (default RUN_DIR/model.onnx); seq2seq writes NAME.encoder.onnx and NAME.decoder.onnx")
	c.Flags().StringArrayVar(&sets, "set", nil, "a decoding option KEY=VALUE (repeatable), as for eval")
	return c
}

// writeStoppable writes data to path whole or not at all, unless the command
// was stopped (the first Ctrl-C): then it writes nothing, and a temporary file
// cut short by the stop is removed (registered with e.temp).
func writeStoppable(ctx context.Context, e *env, path string, data []byte) error {
	if err := context.Cause(ctx); err != nil {
		return err
	}
	f, err := atomicfile.Create(path)
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	e.temp(f.Name())
	defer f.Abort()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	if err := context.Cause(ctx); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("export: writing %s: %w", path, err)
	}
	return nil
}
