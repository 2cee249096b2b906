// Package pipeline turns source files (CSV, JSON Lines, CoNLL, text, Parquet, Arrow
// IPC) into Apache Arrow datasets: tokenize, build vocabularies, encode, cache, shuffle,
// bucket and batch. It knows nothing of package nn.
package pipeline
