// Package recipes loads, defaults, overrides and validates seqkit's YAML recipes and
// embeds the built-in ones: a recipe declares the data, the model, the task and the
// training, and every error in it names the file, line and column.
package recipes
