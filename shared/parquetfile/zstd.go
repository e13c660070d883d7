package parquetfile

import (
	"sync"

	"github.com/klauspost/compress/zstd"
	"github.com/parquet-go/parquet-go/format"
)

// zstdCodec is Parquet's ZSTD codec with encoders sized for Parquet pages. The stock codec uses
// zstd's default 8 MB window, so every pooled encoder holds megabytes of history that a page of
// at most PageBytes can never use; with a window of one page, a function's peak memory for a
// full batch drops by tens of megabytes and the output stays standard zstd.
type zstdCodec struct {
	window   int
	encoders sync.Pool
	decoders sync.Pool
}

func newZstdCodec(window int, level zstd.EncoderLevel) *zstdCodec {
	c := &zstdCodec{window: window}
	c.encoders.New = func() any {
		e, err := zstd.NewWriter(nil, zstd.WithEncoderLevel(level), zstd.WithEncoderConcurrency(1),
			zstd.WithWindowSize(window), zstd.WithZeroFrames(true), zstd.WithEncoderCRC(false), zstd.WithLowerEncoderMem(true))
		if err != nil {
			panic(err) // only for invalid options, which are constants here
		}
		return e
	}
	c.decoders.New = func() any {
		d, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			panic(err)
		}
		return d
	}
	return c
}

func (c *zstdCodec) String() string                            { return "ZSTD" }
func (c *zstdCodec) CompressionCodec() format.CompressionCodec { return format.Zstd }

func (c *zstdCodec) Encode(dst, src []byte) ([]byte, error) {
	e := c.encoders.Get().(*zstd.Encoder)
	defer c.encoders.Put(e)
	return e.EncodeAll(src, dst[:0]), nil
}

func (c *zstdCodec) Decode(dst, src []byte) ([]byte, error) {
	d := c.decoders.Get().(*zstd.Decoder)
	defer c.decoders.Put(d)
	return d.DecodeAll(src, dst[:0])
}
