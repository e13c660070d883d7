package duckengine_test

import (
	"testing"

	"github.com/sluicelake/sluice/shared/lineage/graph/graphtest"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/zone"
)

func lineageLake(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if _, err := graphtest.WriteLake(dir, graphtest.Events()); err != nil {
		t.Fatal(err)
	}
	return dir
}

// The lineage table is JSON lines, not Parquet, but queries as any table does: typed columns,
// dt and hr partitions, the compiler's SQL unchanged.
func TestLineageTable(t *testing.T) {
	dir := lineageLake(t)
	eng := open(t, dir)
	if !eng.HasData(table.Zone, table.Dataset) || eng.HasData(zone.Curated, table.Dataset) {
		t.Fatal("HasData: want the lineage zone to hold lineage data, and nothing else")
	}
	c := compiler(t, eng)
	page := run(t, eng, compile(t, c, `{"dataset":"lineage","columns":["event_time","job_name","output_rows","input_rows","input_zone","input_shard","dt","hr"],"order_by":[{"column":"event_time"},{"column":"output_name"},{"column":"input_name"}]}`))
	want := []string{"event_time timestamp", "job_name varchar", "output_rows bigint", "input_rows bigint", "input_zone varchar", "input_shard varchar", "dt date", "hr integer"}
	for i, col := range page.Columns {
		if got := col.Name + " " + col.Type; got != want[i] {
			t.Errorf("column %d: %s, want %s", i, got, want[i])
		}
	}
	if len(page.Rows) != 8 {
		t.Fatalf("%d rows, want 8 (one per edge, one for the root)", len(page.Rows))
	}
	first := page.Rows[0]
	if first[0] != "2026-11-23T09:10:00.000Z" || first[1] != "firehose" || first[2] != int64(100) || first[4] != nil || first[5] != graphtest.Shard || first[6] != "2026-11-23" || first[7] != int64(9) {
		t.Errorf("first row %v", first)
	}
	root := page.Rows[3] // upload, the file drop: no input
	if root[1] != "upload" || root[3] != nil || root[5] != "" {
		t.Errorf("root row %v: want no input rows and an empty shard", root)
	}

	agg := run(t, eng, compile(t, c, `{"dataset":"lineage","where":[{"column":"output_zone","op":"=","value":"quarantine"}],"group_by":["job_name"],"aggregates":[{"fn":"sum","column":"output_rows","as":"rows"}],"order_by":[{"column":"job_name"}]}`))
	if len(agg.Rows) != 2 || agg.Rows[0][0] != "ingest" || agg.Rows[0][1] != int64(5) || agg.Rows[1][1] != int64(2) {
		t.Errorf("quarantined rows by job %v", agg.Rows)
	}
	pruned := run(t, eng, compile(t, c, `{"dataset":"lineage","hr":{"from":10},"aggregates":[{"fn":"count"}]}`))
	if pruned.Rows[0][0] != int64(2) {
		t.Errorf("rows from hour 10 on: %v, want promote's two edges", pruned.Rows)
	}
}
