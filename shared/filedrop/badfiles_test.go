package filedrop_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/shared/filedrop"
	"github.com/sluicelake/sluice/shared/objectstore"
)

const customersHeader = "uuid,event_date,status,name,last_name,email,phone\n"

func customerRow(i int) string {
	return "0f8fad5b-d9cb-469f-a165-70867728" + strings.Repeat("0", 4-len(itoa(i))) + itoa(i) +
		",2026-01-02T03:04:05Z,Active,Ann,Lee,ann@example.com,555-1234\n"
}

func itoa(i int) string {
	b := []byte{}
	for {
		b = append([]byte{byte('0' + i%10)}, b...)
		if i /= 10; i == 0 {
			return string(b)
		}
	}
}

func customers(n int) string {
	var b strings.Builder
	b.WriteString(customersHeader)
	for i := range n {
		b.WriteString(customerRow(i))
	}
	return b.String()
}

// TestBadFiles is the bad-file corpus: each file gets a clear reason, whole or per row, nothing is
// lost and the counts add up.
func TestBadFiles(t *testing.T) {
	reg, _ := events.Registry()
	good := generate(t, "user_events", 900, 0)
	pq := parquetOf(t, reg, good)
	otherSchema := parquetOf(t, reg, generate(t, "customers", 10, 0))
	goodGz := gz(jsonLines(good))
	bomb := gz(make([]byte, 64<<20)) // 64 MiB of zeros in ~64 KB

	cases := []struct {
		name, key, body string
		// file is the whole-file reason; else rows are the row count and reasons the row rejects.
		file    string
		rows    int
		reasons map[string]int64
		check   func(t *testing.T, rep *filedrop.Report, c contents)
	}{
		{name: "ragged rows", key: "landing/customers/ragged.csv",
			body: customersHeader + customerRow(1) + "0f8fad5b-d9cb-469f-a165-708677280002,2026-01-02T03:04:05Z,Active\n" +
				customerRow(3) + strings.TrimSuffix(customerRow(4), "\n") + ",extra\n",
			rows: 4, reasons: map[string]int64{filedrop.CSVFieldCount: 2}},
		{name: "byte-order mark", key: "landing/customers/bom.csv", body: "\xEF\xBB\xBF" + customers(3), rows: 3,
			check: func(t *testing.T, rep *filedrop.Report, c contents) {
				if !rep.BOM {
					t.Error("BOM not reported")
				}
			}},
		{name: "UTF-16", key: "landing/customers/utf16.csv", body: "\xFF\xFEu\x00u\x00", file: filedrop.BadEncoding},
		{name: "embedded quotes and newlines", key: "landing/customers/quotes.csv",
			body: customersHeader + `0f8fad5b-d9cb-469f-a165-708677280001,2026-01-02T03:04:05Z,Active,"Ann ""the"" Ann","Lee, Jr.` + "\r\nthe second\",ann@example.com,\r\n" + customerRow(2),
			rows: 2, check: func(t *testing.T, rep *filedrop.Report, c contents) {
				sortRows(c.rows, "uuid")
				if c.rows[0]["name"] != `Ann "the" Ann` || c.rows[0]["last_name"] != "Lee, Jr.\nthe second" || c.rows[0]["phone"] != nil {
					t.Errorf("row %v", c.rows[0])
				}
			}},
		{name: "bare quote", key: "landing/customers/bare.csv", body: customersHeader + customerRow(1) +
			`0f8fad5b-d9cb-469f-a165-708677280002,2026-01-02T03:04:05Z,Active,An"n,Lee,ann@example.com,` + "\n",
			rows: 2, reasons: map[string]int64{filedrop.CSVQuote: 1}},
		{name: "quote never closed", key: "landing/customers/open.csv", body: customersHeader + customerRow(1) +
			`0f8fad5b-d9cb-469f-a165-708677280002,2026-01-02T03:04:05Z,Active,"Ann,Lee` + "\n" + customerRow(3),
			rows: 2, reasons: map[string]int64{filedrop.CSVQuote: 1}},
		{name: "wrong delimiter", key: "landing/customers/semi.csv", body: strings.ReplaceAll(customers(3), ",", ";"), file: filedrop.BadHeader},
		{name: "unknown column", key: "landing/customers/col.csv", body: "uuid,event_date,status,name,last_name,email,fax\n", file: filedrop.BadHeader},
		{name: "header only", key: "landing/customers/header.csv", body: customersHeader, file: filedrop.EmptyFile},
		{name: "typed cells", key: "landing/user_events/typed.csv",
			body: "event_id,user_id,event_type,timestamp,amount,quantity,is_bot\n" +
				"0f8fad5b-d9cb-469f-a165-708677280001,u_1,purchase,2026-01-02T03:04:05Z,12.5,2,TRUE\n" +
				"0f8fad5b-d9cb-469f-a165-708677280002,u_1,purchase,2026-01-02T03:04:05Z,twelve,2,false\n" +
				"0f8fad5b-d9cb-469f-a165-708677280003,u_1,purchase,2026-01-02T03:04:05Z,1,2.5,\n" +
				"0f8fad5b-d9cb-469f-a165-708677280004,u_1,purchase,,1,2,\n" +
				"0f8fad5b-d9cb-469f-a165-708677280005,u_1,purchase,2026-01-02T03:04:05Z,1,2,maybe\n",
			rows: 5, reasons: map[string]int64{"wrong_type": 2, "not_an_integer": 1, "null_not_allowed": 1}},
		{name: "zero bytes", key: "landing/user_events/empty.jsonl", body: "", file: filedrop.EmptyFile},
		{name: "blank lines only", key: "landing/user_events/blank.jsonl", body: "\n \n\r\n", file: filedrop.EmptyFile},
		{name: "unknown extension", key: "landing/user_events/data.xml", body: "<a/>", file: filedrop.UnknownFormat},
		{name: "dataset without contract", key: "landing/orders/o.jsonl", body: "{}\n", file: filedrop.UnknownDataset},
		{name: "outside landing", key: "elsewhere/o.jsonl", body: "{}\n", file: filedrop.NotLanding},
		{name: "JSON array", key: "landing/user_events/a.json", body: "[\n{\"a\":1}\n]\n", file: filedrop.JSONArray},
		{name: "not gzip", key: "landing/user_events/x.jsonl.gz", body: string(jsonLines(good[:3])), file: filedrop.BadGzip},
		// Cut after several chunks were written: they are removed again, the file goes whole.
		{name: "truncated gzip", key: "landing/user_events/cut.jsonl.gz", body: string(goodGz[:len(goodGz)*3/4]), file: filedrop.BadGzip},
		{name: "gzip bomb", key: "landing/user_events/bomb.jsonl.gz", body: string(bomb), file: filedrop.GunzipLimit},
		{name: "truncated Parquet", key: "landing/user_events/cut.parquet", body: string(pq[:len(pq)-100]), file: filedrop.BadParquet},
		{name: "not Parquet", key: "landing/user_events/csv.parquet", body: customers(2), file: filedrop.BadParquet},
		{name: "Parquet of another schema", key: "landing/user_events/other.parquet", body: string(otherSchema), file: filedrop.ParquetSchema},
		{name: "JSON lines, bad records", key: "landing/user_events/bad.jsonl",
			body: "{\"event_id\":1}\nnot json\n\n" + string(good[0].Data) + "\n[1]\n",
			rows: 4, reasons: map[string]int64{"wrong_type": 1, "malformed_json": 1, "not_an_object": 1}},
	}
	l := newLake(t)
	l.v.ChunkRows = 200
	l.v.MaxGunzipBytes = 8 << 20
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// One lake per case would cost a server each; clear the buckets instead.
			clearBuckets(t, l)
			rep := l.drop(t, tc.key, []byte(tc.body))
			c := l.contents(t, rep)
			if tc.file != "" {
				if rep.File == nil || rep.File.Reason != tc.file || len(c.rows) != 0 || len(c.entries) != 1 {
					t.Fatalf("want the file quarantined whole for %s; report %+v, %d rows, %d entries", tc.file, rep.File, len(c.rows), len(c.entries))
				}
				e := c.entries[0]
				if e.Reason != tc.file || e.Source.Key != tc.key || e.Detail == "" || (len(tc.body) <= 1<<20 && string(e.Original) != tc.body) {
					t.Fatalf("entry %+v", e)
				}
				t.Logf("%s: %s", e.Reason, e.Detail)
				return
			}
			if rep.File != nil {
				t.Fatalf("file quarantined: %v", rep.File)
			}
			accounted(t, rep, c, tc.rows)
			var want int64
			for r, n := range tc.reasons {
				if rep.Reasons[r] != n {
					t.Errorf("%s: %d, want %d (all: %v)", r, rep.Reasons[r], n, rep.Reasons)
				}
				want += n
			}
			if rep.Quarantined != want {
				t.Errorf("quarantined %d, want %d: %v", rep.Quarantined, want, rep.Reasons)
			}
			for _, e := range c.entries {
				t.Logf("line %d %s %s: %s", e.Source.Line, e.Reason, e.Field, e.Detail)
			}
			if tc.check != nil {
				tc.check(t, rep, c)
			}
		})
	}
}

func clearBuckets(t *testing.T, l *lake) {
	ctx := context.Background()
	for _, s := range []objectstore.Store{l.raw, l.cleansed, l.quarantined} {
		infos, err := s.List(ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		for _, o := range infos {
			if err := s.Delete(ctx, o.Key); err != nil {
				t.Fatal(err)
			}
		}
	}
}
