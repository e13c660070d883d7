// Package parquetmeta reads the row count of a Parquet file from its footer with the standard
// library alone: the lineage function counts the rows of objects it did not write (the
// Firehose archive) without linking a Parquet library, which would cost it megabytes.
//
// A Parquet file ends with its footer (a Thrift compact-encoded FileMetaData), the footer's
// length as a 4-byte little-endian integer, and the magic "PAR1". FileMetaData's field 3 is
// num_rows; everything before it is skipped without being decoded.
package parquetmeta

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sluicelake/sluice/shared/objectstore"
)

// ErrNotParquet means the bytes do not end like a Parquet file.
var ErrNotParquet = errors.New("parquetmeta: not a Parquet file (no PAR1 footer)")

// MaxFooter bounds the footer Rows reads: a larger one is refused rather than fetched.
const MaxFooter = 16 << 20

// Rows reads the row count of the Parquet object at key (size bytes) with two ranged reads.
func Rows(ctx context.Context, s objectstore.Store, key string, size int64) (int64, error) {
	if size < 12 {
		return 0, ErrNotParquet
	}
	tail, err := s.GetRange(ctx, key, size-8, 8)
	if err != nil {
		return 0, err
	}
	n, err := FooterLength(tail)
	if err != nil {
		return 0, err
	}
	if int64(n)+12 > size {
		return 0, fmt.Errorf("parquetmeta: footer of %d bytes in a %d-byte file: %w", n, size, ErrNotParquet)
	}
	footer, err := s.GetRange(ctx, key, size-8-int64(n), int64(n))
	if err != nil {
		return 0, err
	}
	return RowCount(footer)
}

// FooterLength reads the footer's length from a file's last 8 bytes.
func FooterLength(tail []byte) (int, error) {
	if len(tail) != 8 || string(tail[4:]) != "PAR1" {
		return 0, ErrNotParquet
	}
	n := binary.LittleEndian.Uint32(tail[:4])
	if n > MaxFooter {
		return 0, fmt.Errorf("parquetmeta: footer of %d bytes is over the %d this reader takes", n, MaxFooter)
	}
	return int(n), nil
}

// Thrift compact protocol types.
const (
	tStop   = 0
	tTrue   = 1
	tFalse  = 2
	tByte   = 3
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tDouble = 7
	tBinary = 8
	tList   = 9
	tSet    = 10
	tMap    = 11
	tStruct = 12
)

// maxDepth bounds nesting while skipping, so a hostile footer cannot exhaust the stack.
const maxDepth = 64

// RowCount decodes num_rows from a FileMetaData footer.
func RowCount(footer []byte) (int64, error) {
	d := decoder{b: footer}
	var id int16
	for {
		typ, err := d.fieldHeader(&id)
		if err != nil {
			return 0, err
		}
		if typ == tStop {
			return 0, errors.New("parquetmeta: the footer has no num_rows")
		}
		if id == 3 && typ == tI64 {
			v, err := d.varint()
			if err != nil {
				return 0, err
			}
			rows := unzigzag(v)
			if rows < 0 {
				return 0, fmt.Errorf("parquetmeta: num_rows %d is negative", rows)
			}
			return rows, nil
		}
		if err := d.skip(typ, 0); err != nil {
			return 0, err
		}
	}
}

type decoder struct {
	b   []byte
	pos int
}

var errShort = errors.New("parquetmeta: the footer ends in the middle of a value")

func (d *decoder) byte() (byte, error) {
	if d.pos >= len(d.b) {
		return 0, errShort
	}
	c := d.b[d.pos]
	d.pos++
	return c, nil
}

func (d *decoder) varint() (uint64, error) {
	var v uint64
	for shift := 0; shift < 64; shift += 7 {
		c, err := d.byte()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7f) << shift
		if c < 0x80 {
			return v, nil
		}
	}
	return 0, errors.New("parquetmeta: a varint runs over 64 bits")
}

func unzigzag(v uint64) int64 { return int64(v>>1) ^ -int64(v&1) }

// fieldHeader reads a struct field's header: its type, and its id into *id (a delta from the
// previous one, or a zigzag i16 that follows).
func (d *decoder) fieldHeader(id *int16) (byte, error) {
	c, err := d.byte()
	if err != nil {
		return 0, err
	}
	typ := c & 0x0f
	if typ == tStop {
		return tStop, nil
	}
	if delta := c >> 4; delta != 0 {
		*id += int16(delta)
	} else {
		v, err := d.varint()
		if err != nil {
			return 0, err
		}
		*id = int16(unzigzag(v))
	}
	return typ, nil
}

func (d *decoder) advance(n uint64) error {
	if n > uint64(len(d.b)-d.pos) {
		return errShort
	}
	d.pos += int(n)
	return nil
}

// skip passes over one value of type typ.
func (d *decoder) skip(typ byte, depth int) error {
	if depth > maxDepth {
		return errors.New("parquetmeta: the footer nests deeper than any Parquet footer does")
	}
	switch typ {
	case tTrue, tFalse:
		return nil // a struct field's bool lives in its header
	case tByte:
		return d.advance(1)
	case tI16, tI32, tI64:
		_, err := d.varint()
		return err
	case tDouble:
		return d.advance(8)
	case tBinary:
		n, err := d.varint()
		if err != nil {
			return err
		}
		return d.advance(n)
	case tList, tSet:
		c, err := d.byte()
		if err != nil {
			return err
		}
		n, elem := uint64(c>>4), c&0x0f
		if n == 15 {
			if n, err = d.varint(); err != nil {
				return err
			}
		}
		return d.skipN(n, elem, depth)
	case tMap:
		n, err := d.varint()
		if err != nil || n == 0 {
			return err
		}
		kv, err := d.byte()
		if err != nil {
			return err
		}
		for i := uint64(0); i < n; i++ {
			if err := d.skipElem(kv>>4, depth); err != nil {
				return err
			}
			if err := d.skipElem(kv&0x0f, depth); err != nil {
				return err
			}
		}
		return nil
	case tStruct:
		var id int16
		for {
			t, err := d.fieldHeader(&id)
			if err != nil || t == tStop {
				return err
			}
			if err := d.skip(t, depth+1); err != nil {
				return err
			}
		}
	}
	return fmt.Errorf("parquetmeta: unknown Thrift type %d in the footer", typ)
}

// skipElem passes over a list, set or map element: there a bool takes a byte of its own.
func (d *decoder) skipElem(typ byte, depth int) error {
	if typ == tTrue || typ == tFalse {
		return d.advance(1)
	}
	return d.skip(typ, depth+1)
}

func (d *decoder) skipN(n uint64, elem byte, depth int) error {
	// Every element takes at least a byte, except those of an empty struct... which take one
	// too (its stop). So n cannot exceed what is left: refuse early rather than loop.
	if n > uint64(len(d.b)-d.pos) {
		return errShort
	}
	for i := uint64(0); i < n; i++ {
		if err := d.skipElem(elem, depth); err != nil {
			return err
		}
	}
	return nil
}
