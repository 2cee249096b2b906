// Package pipeline turns source files into Apache Arrow datasets that tasks train
// on and predict from: read, tokenize, build vocabularies, encode, cache, shuffle,
// bucket and batch. It knows nothing of package nn.
//
// # Reading
//
// [Open] reads CSV, TSV, JSON Lines, CoNLL (CoNLL-U included), plain text (one
// example per line, parallel files, or one stream), Parquet and Arrow IPC into
// record batches whose schema ([Schema]) has a row column and one column per
// mapped role (text, tokens, tags, label, target). Bad input is an [*Error] naming
// the file, line and column; [WithSkipErrors] skips bad examples instead, writing
// each to a rejects file.
//
//	r, err := pipeline.Open(pipeline.Source{Path: "train.tsv", Columns: pipeline.Columns{Text: "sentence", Label: "label"}})
//	defer r.Release()
//	for r.Next() {
//		rec := r.RecordBatch() // valid until the next call to Next; Retain to keep it
//	}
//	err = r.Err()
//
// # Encoding and caching
//
// [BuildVocabs] counts the training split; an [Encoder] maps tokens, tags, labels
// and targets to int32 ids on all cores in order ([Encoder.EncodeAll]).
// [Cache.Prepare] keys the encoded split by a fingerprint of the source and every
// setting, writes it once as an Arrow IPC file (atomically) and memory-maps it on
// every later run.
//
// # Batching
//
// A [Batcher] cuts a [Dataset] into padded time-major batches: seeded shuffle,
// length buckets, a fixed size or a token budget, a maximum length; [Stream]
// cuts a language-model corpus into parallel streams for truncated BPTT.
//
// # Memory
//
// Reading, encoding and caching stream: a reader holds one record batch of
// [DefaultBatchRows] examples, [Encoder.EncodeAll] at most 2·workers more, and the
// cache writer none, so memory does not grow with the file (a 96 MB file grows the
// heap by about 6 MB; see TestStreamingBoundedMemory). Lines are bounded by
// [DefaultMaxLineBytes].
package pipeline
