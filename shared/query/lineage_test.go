package query_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/zone"
)

// The lineage table is queryable like any dataset, in its own zone, without being in Contracts.
func TestLineageDataset(t *testing.T) {
	c := &query.Compiler{Contracts: nil, HasData: func(zone.Zone, string) bool { t.Error("HasData asked about the lineage zone"); return false }}
	for _, body := range []string{`{"dataset":"lineage"}`, `{"dataset":"lineage","zone":"lineage"}`} {
		q, err := compileJSON(t, c, body)
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		if q.Zone != table.Zone || q.Dataset != "lineage" || strings.Join(q.Tables, ",") != "lineage_lineage,lineage_compacted" {
			t.Fatalf("%s: zone %s dataset %s tables %v", body, q.Zone, q.Dataset, q.Tables)
		}
		if !strings.Contains(q.SQL, `"event_time", "event_type", "run_id"`) || !strings.Contains(q.SQL, " FROM "+table.From()+" ") {
			t.Fatalf("SQL %s", q.SQL)
		}
	}
	q, err := compileJSON(t, c, `{"dataset":"lineage","columns":["output_name"],"where":[{"column":"input_name","op":"in","values":["a","b"]},{"column":"event_type","op":"=","value":"COMPLETE"}],"dt":{"from":"2026-11-23"}}`)
	if err != nil {
		t.Fatal(err)
	}
	if want := `SELECT "output_name" FROM ` + table.From() + ` WHERE "dt" >= ? AND "input_name" IN (?, ?) AND "event_type" = ? LIMIT 1000`; q.SQL != want {
		t.Fatalf("SQL\n got %s\nwant %s", q.SQL, want)
	}

	for body, want := range map[string]string{
		`{"dataset":"lineage","zone":"curated"}`:                                          `zone: the lineage dataset has one zone, "lineage"`,
		`{"dataset":"user_events","zone":"lineage"}`:                                      `zone: unknown zone "lineage": one of curated, cleansed, raw (zone lineage holds only the lineage dataset)`,
		`{"dataset":"lineage","where":[{"column":"event_type","op":"=","value":"DONE"}]}`: `"DONE" is not a value of event_type`,
	} {
		_, err := compileJSON(t, compiler(t), body)
		var qe *query.Error
		if !errors.As(err, &qe) || !strings.Contains(err.Error(), want) {
			t.Errorf("%s:\n got %v\nwant %q", body, err, want)
		}
	}
}

func TestLineageRawSQL(t *testing.T) {
	c := compiler(t)
	c.RawSQL = true
	q, err := compileJSON(t, c, `{"sql":"SELECT l.output_name, count(*) FROM lineage_lineage l JOIN curated_user_events u ON true GROUP BY 1"}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(q.Tables, ",") != "lineage_lineage,curated_user_events" || q.Zone != table.Zone {
		t.Fatalf("tables %v zone %s", q.Tables, q.Zone)
	}
	if _, err := compileJSON(t, c, `{"sql":"SELECT * FROM curated_lineage"}`); err == nil {
		t.Fatal("curated_lineage accepted: the lineage table lives only in zone lineage")
	}
}
