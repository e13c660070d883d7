package main

import (
	"bytes"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/query/querytest"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/zone"
)

func main() {
	dir, _ := os.MkdirTemp("", "exp")
	reg, _ := events.Registry()
	b := record.NewBatch(reg, record.Options{Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }})
	es := querytest.Generate(200, 2)
	for i := range es {
		if _, rej := b.Add(es[i].JSON(), i); rej != nil {
			panic(rej)
		}
	}
	tab := b.Tables()[0]
	parts := map[zone.Partition][]int{}
	for i := 0; i < tab.Len(); i++ {
		p := zone.PartitionOf(tab.EventTime(i))
		parts[p] = append(parts[p], i)
	}
	for p, rows := range parts {
		var buf bytes.Buffer
		if err := parquetfile.Write(&buf, tab, rows, parquetfile.Options{}); err != nil {
			panic(err)
		}
		path := filepath.Join(dir, "cleansed", zone.Key("user_events", p, "a.parquet"))
		os.MkdirAll(filepath.Dir(path), 0o755)
		os.WriteFile(path, buf.Bytes(), 0o644)
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		panic(err)
	}
	must := func(q string, args ...any) {
		rows, err := db.Query(q, args...)
		if err != nil {
			fmt.Println("ERR", q, err)
			return
		}
		cts, _ := rows.ColumnTypes()
		for _, c := range cts {
			fmt.Print(c.Name(), ":", c.DatabaseTypeName(), " ")
		}
		fmt.Println()
		for rows.Next() {
			vals := make([]any, len(cts))
			ptrs := make([]any, len(cts))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			rows.Scan(ptrs...)
			for _, v := range vals {
				fmt.Printf("%T=%v | ", v, v)
			}
			fmt.Println()
		}
	}
	glob := filepath.Join(dir, "cleansed", "user_events", "dt=*", "hr=*", "*.parquet")
	must(fmt.Sprintf(`CREATE OR REPLACE VIEW "cleansed_user_events" AS SELECT * FROM read_parquet('%s', hive_partitioning=true, hive_types={'dt': DATE, 'hr': INTEGER})`, glob))
	must(`SELECT "event_type", "timestamp", "dt", "hr", "amount", "quantity", "properties", "is_bot" FROM "cleansed_user_events" LIMIT 2`)
	must(`SELECT sum("quantity") AS s, count(*) AS n, avg("quantity"), min("timestamp") FROM "cleansed_user_events" WHERE "dt" >= ? AND "dt" <= ? AND "hr" >= ?`, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), int64(22))
	must(`EXPLAIN ANALYZE SELECT count(*) FROM "cleansed_user_events" WHERE "dt" >= ? AND "dt" <= ? AND "hr" >= ?`, time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC), int64(22))
	must(`SELECT version()`)
	must(fmt.Sprintf(`SET allowed_directories=['%s']`, dir))
	must(`SET enable_external_access=false`)
	must(`SELECT count(*) FROM "cleansed_user_events" WHERE "timestamp" < ?`, time.Date(2026, 11, 20, 5, 30, 0, 0, time.UTC))
	must(`SELECT * FROM read_csv('/etc/passwd') LIMIT 1`)
}
