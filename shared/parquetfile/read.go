package parquetfile

import (
	"bytes"
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"
)

// ReadRows reads a whole file into one map per row (column name → Go value), for tests, tools
// and the local summary. It is not meant for the hot path.
func ReadRows(r io.ReaderAt, size int64) ([]map[string]any, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("parquet: open: %w", err)
	}
	rd := parquet.NewGenericReader[map[string]any](r, f.Schema())
	defer rd.Close()
	rows := make([]map[string]any, f.NumRows())
	for i := range rows {
		rows[i] = map[string]any{} // Reconstruct fills maps, it does not make them
	}
	n, err := rd.Read(rows)
	if err != nil && err != io.EOF {
		return nil, fmt.Errorf("parquet: read rows: %w", err)
	}
	if n != len(rows) {
		return nil, fmt.Errorf("parquet: read %d of %d rows", n, len(rows))
	}
	for _, row := range rows {
		normalize(row)
	}
	return rows, nil
}

// ReadBytes is ReadRows over an in-memory file.
func ReadBytes(b []byte) ([]map[string]any, error) {
	return ReadRows(bytes.NewReader(b), int64(len(b)))
}

// Footer opens a file's footer: row count, metadata, statistics.
func Footer(b []byte) (*parquet.File, error) {
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil, fmt.Errorf("parquet: open: %w", err)
	}
	return f, nil
}

// normalize turns the byte slices the generic reader leaves inside maps into strings, so that
// rows compare equal to what was written. Timestamps stay int64 milliseconds since the epoch.
func normalize(m map[string]any) {
	for k, v := range m {
		switch x := v.(type) {
		case []byte:
			m[k] = string(x)
		case map[string]any:
			normalize(x)
		}
	}
}
