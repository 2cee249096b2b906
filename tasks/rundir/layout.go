package rundir

import (
	"errors"
	"path/filepath"
)

// The layout of a run directory.
const (
	RecipeFile      = "recipe.yaml"
	MetricsFile     = "metrics.jsonl"
	LastDir         = "checkpoints/last"  // resumable: weights, optimizer, random and loop state
	BestDir         = "checkpoints/best"  // weights of the best dev evaluation
	ModelFile       = "model.safetensors" // the weights, in a checkpoint folder
	ReportFile      = "report.md"
	PredictionsFile = "predictions.test.jsonl"
	SamplesFile     = "samples.jsonl"
	DataDir         = "data"     // the splits of a generated recipe
	CacheDir        = "cache"    // encoded datasets, when the user has no cache folder
	LossPlot        = "loss.png" // learning curves
	DevPlot         = "dev.png"
)

// RejectsFile holds the examples of a split left out by data.skip_errors.
func RejectsFile(split string) string { return "rejects." + split + ".txt" }

// ErrRunDir reports a run directory that cannot be used as asked.
var ErrRunDir = errors.New("run directory")

// Metrics are named scores of an evaluation ("loss", "f1", "accuracy", …).
type Metrics map[string]float64

// VocabDir is where a run directory keeps its vocabularies.
func VocabDir(runDir string) string { return filepath.Join(runDir, "vocab") }
