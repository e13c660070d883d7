package parquetfile

import "github.com/parquet-go/parquet-go/compress"

// Codec is the zstd codec of a Compression, for writers outside this package (promote's curated
// files): encoders pooled across files, with a window of one page rather than zstd's default
// 8 MB, whose history buffers would otherwise take tens of megabytes per encoder.
func Codec(c Compression) compress.Codec { return codecs[c] }
