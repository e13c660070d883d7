// Package duckcheck_test reads curated files that promote assembled from copied row groups
// with DuckDB, an independent Parquet reader standing in for Athena, and checks it sees what
// parquet-go sees. It lives apart from package promote so that promote's own tests do not link
// DuckDB (cgo, 70 MB).
package duckcheck_test

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

var part = zone.Partition{Date: "2026-11-23", Hour: 9}

func TestDuckDBReadsAssembledFiles(t *testing.T) {
	client, _ := s3test.StartGofakes3(t)
	ctx := context.Background()
	for _, b := range []string{"cleansed", "curated"} {
		if _, err := client.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}
	reg, _ := events.Registry()
	cleansed, curated := s3store.New(client, "cleansed"), s3store.New(client, "curated")
	p := &promote.Promoter{Contracts: reg, Cleansed: cleansed, Curated: curated, PIIKey: []byte("k"), TargetBytes: 48 << 10}
	// Each file updates some customers of the files before it (a later second of the hour) and
	// adds new ones; each promotion appends to the last curated file by copying its row groups,
	// rewrites files holding superseded rows, and merges small files.
	sec := 0
	for f := range 8 {
		b := record.NewBatch(reg, record.Options{DefaultDataset: "customers", Now: func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) }})
		for i := range 400 {
			id := f*300 + i // the first 100 of each file update the previous file's last 100
			data := fmt.Appendf(nil, `{"uuid":"%08x-0000-4000-8000-000000000000","event_date":"2026-11-23T09:%02d:%02dZ","status":"Active","name":"file %d row %d","last_name":"Lovelace","email":"u%d@example.com","phone":null}`,
				id, sec/60, sec%60, f, i, id)
			sec = (sec + 1) % 3600
			if _, rej := b.Add(data, i); rej != nil {
				t.Fatal(rej)
			}
		}
		var buf bytes.Buffer
		if err := parquetfile.WriteTable(&buf, b.Tables()[0], parquetfile.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := cleansed.Put(ctx, zone.Key("customers", part, fmt.Sprintf("f%d.parquet", f)), buf.Bytes(), objectstore.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Promote(ctx, "customers", part); err != nil {
			t.Fatal(err)
		}
	}
	const want = 7*300 + 400 // distinct customers

	dir := t.TempDir()
	// What a reader of the table reads: the data files of its current snapshot.
	files, err := p.Files(ctx, "customers", part)
	if err != nil {
		t.Fatal(err)
	}
	var fromParquetGo int
	for _, f := range files {
		key, err := p.Table("customers").Key(f.Path)
		if err != nil {
			t.Fatal(err)
		}
		rc, _, err := curated.Get(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(rc)
		rc.Close()
		rows, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatal(err)
		}
		fromParquetGo += len(rows)
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(key)), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	glob := strings.ReplaceAll(filepath.Join(dir, "*.parquet"), "'", "''")
	var n, distinct, superseded, rowGroups int
	err = db.QueryRow(`SELECT count(*), count(DISTINCT uuid), count(*) FILTER (WHERE regexp_matches(name, '^file [0-6] row 3[0-9][0-9]$')) FROM read_parquet('`+glob+`')`).Scan(&n, &distinct, &superseded)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(`SELECT count(DISTINCT (file_name, row_group_id)) FROM parquet_metadata('` + glob + `')`).Scan(&rowGroups); err != nil {
		t.Fatal(err)
	}
	if n != want || distinct != want || fromParquetGo != want {
		t.Fatalf("DuckDB reads %d rows (%d distinct), parquet-go %d; want %d", n, distinct, fromParquetGo, want)
	}
	// Rows 300-399 of files 0-6 were superseded by the next file: none may be left.
	if superseded != 0 {
		t.Fatalf("%d superseded rows remain", superseded)
	}
	t.Logf("%d curated files, %d row groups, %d rows read back by DuckDB", len(files), rowGroups, n)
}
