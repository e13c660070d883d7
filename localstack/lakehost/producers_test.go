package lakehost_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/quarantine"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestProducersAsTheyAre runs the local lake with a stream per dataset and sends records the way
// producers that know nothing of sluice do: no _dataset, one PutRecord each, into the stream the
// banner names for their dataset.
func TestProducersAsTheyAre(t *testing.T) {
	bin := buildAll(t, "ingest", "promote")
	lake := startLake(t, lakehost.Config{BinDir: bin})
	dir := lake.Dir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	listed, err := lake.KinesisClient.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range reg {
		s := lake.Streams.StreamFor(name)
		if cdc.IsChangeStream(c) {
			// Fed from Kafka, as in the stack: no stream of its own.
			if slices.Contains(listed.StreamNames, lakehost.DatasetStream(name)) {
				t.Errorf("change stream %s has a Kinesis stream", name)
			}
			continue
		}
		if s != lakehost.DatasetStream(name) || !slices.Contains(listed.StreamNames, s) || lake.Mappings[s] == nil || lake.Archives[s] == nil {
			t.Fatalf("dataset %s: stream %q (streams %v), want %s with its mapping and archive", name, s, listed.StreamNames, lakehost.DatasetStream(name))
		}
	}

	t.Run("records without _dataset take their stream's dataset", func(t *testing.T) {
		gens, err := fake.Generators(reg, "all", fake.Options{Seed: 3})
		if err != nil {
			t.Fatal(err)
		}
		sent := map[string]map[string]bool{} // dataset → keys
		_, err = fake.Produce(ctx, gens, 120, func(ctx context.Context, r fake.Record) error {
			var m map[string]any
			if err := json.Unmarshal(r.Data, &m); err != nil {
				return err
			}
			delete(m, "_dataset")
			c := reg[r.Dataset]
			if sent[c.Name] == nil {
				sent[c.Name] = map[string]bool{}
			}
			sent[c.Name][fmt.Sprint(m[c.Fields[c.Key[0]].Name])] = true
			data, _ := json.Marshal(m)
			return putRecord(ctx, lake, lake.Streams.StreamFor(r.Dataset), data)
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := lake.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		for name, keys := range sent {
			c := reg[name]
			rows := zoneRows(t, dir, zone.Cleansed, name)
			got := map[string]bool{}
			for _, r := range rows {
				got[fmt.Sprint(r[c.Fields[c.Key[0]].Name])] = true
			}
			for k := range keys {
				if !got[k] {
					t.Errorf("%s %s sent to %s is not in cleansed", name, k, lake.Streams.StreamFor(name))
				}
			}
			// Each dataset stream's own Firehose archives it: raw holds every dataset.
			if as := lake.Archives[lake.Streams.StreamFor(name)].Stats(); as.Delivered < int64(len(keys)) {
				t.Errorf("%s: raw archive %+v, want all %d records delivered", name, as, len(keys))
			}
			if m, _ := filepath.Glob(filepath.Join(dir, lakehost.Buckets[zone.Raw], "archive", name, "dt=*", "hr=*", "sluice-archive-"+name+"-1-*.parquet")); len(m) == 0 {
				t.Errorf("no Parquet of %s in the raw archive", name)
			}
		}
		if n := quarantined(t, dir); n != 0 {
			t.Errorf("%d records quarantined, want none", n)
		}
	})

	// The records of ../shared/reference/seed-producer.py, as it writes them: naive isoformat()
	// with microseconds, an integer phone, no _dataset, partition key "partitionkey", one
	// PutRecord each. They pass once the customers contract reads naive times in UTC and takes
	// a number for phone (the producers workstream).
	t.Run("the reference producer's records land in cleansed and curated", func(t *testing.T) {
		before := quarantined(t, dir)
		rnd := rand.New(rand.NewPCG(10, 10))
		want := map[string]map[string]any{}
		for i := 0; i < 10; i++ {
			now := time.Now().UTC().Add(-time.Duration(i) * time.Minute)
			id := fmt.Sprintf("%08x-33f7-481d-8cc6-e894b6f33d%02d", rnd.Uint32(), i)
			phone := 900000000 + rnd.IntN(99999999)
			// Python's json.dumps of data_producer(): key order and spacing as it writes them.
			data := fmt.Sprintf(`{"uuid": %q, "event_date": %q, "status": %q, "name": %q, "last_name": %q, "email": %q, "phone": %d}`,
				id, now.Format("2006-01-02T15:04:05.000000"), []string{"Active", "Inactive", "Canceled"}[i%3],
				"Alicia", "Olson", fmt.Sprintf("rwright%d@example.net", i), phone)
			want[id] = map[string]any{"uuid": id, "event_date": now.Truncate(time.Millisecond).UnixMilli(), "status": []string{"Active", "Inactive", "Canceled"}[i%3],
				"name": "Alicia", "last_name": "Olson", "email": fmt.Sprintf("rwright%d@example.net", i), "phone": fmt.Sprint(phone)}
			if err := putRecord(ctx, lake, lake.Streams.StreamFor("customers"), []byte(data)); err != nil {
				t.Fatal(err)
			}
		}
		if err := lake.WaitIdle(ctx); err != nil {
			t.Fatal(err)
		}
		if n := quarantined(t, dir) - before; n != 0 {
			t.Errorf("%d of the reference producer's records quarantined, want none", n)
		}
		found := 0
		for _, row := range zoneRows(t, dir, zone.Cleansed, "customers") {
			w := want[fmt.Sprint(row["uuid"])]
			if w == nil {
				continue
			}
			found++
			for k, v := range w {
				if fmt.Sprint(row[k]) != fmt.Sprint(v) {
					t.Errorf("cleansed %s: %s = %v, want %v", w["uuid"], k, row[k], v)
				}
			}
		}
		if found != len(want) {
			t.Errorf("%d of %d records in cleansed", found, len(want))
		}
		// Curated applies the contract's PII policy: name kept, last_name masked, email hashed,
		// phone dropped.
		found = 0
		for _, row := range zoneRows(t, dir, zone.Curated, "customers") {
			w := want[fmt.Sprint(row["uuid"])]
			if w == nil {
				continue
			}
			found++
			for _, k := range []string{"event_date", "status", "name"} {
				if fmt.Sprint(row[k]) != fmt.Sprint(w[k]) {
					t.Errorf("curated %s: %s = %v, want %v", w["uuid"], k, row[k], w[k])
				}
			}
			if row["last_name"] != promote.Mask("Olson") || row["email"] == nil || row["email"] == w["email"] {
				t.Errorf("curated %s: last_name %v email %v, want masked and hashed", w["uuid"], row["last_name"], row["email"])
			}
			if _, has := row["phone"]; has {
				t.Errorf("curated %s keeps phone %v: its contract drops it", w["uuid"], row["phone"])
			}
		}
		if found != len(want) {
			t.Errorf("%d of %d records in curated", found, len(want))
		}
	})
}

// putRecord sends one record as boto3's put_record does, with the reference producer's
// partition key.
func putRecord(ctx context.Context, lake *lakehost.Lake, stream string, data []byte) error {
	_, err := lake.KinesisClient.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream), Data: data, PartitionKey: aws.String("partitionkey")})
	return err
}

// zoneRows reads every Parquet row of a dataset in a zone of the local lake.
func zoneRows(t *testing.T, dir string, z zone.Zone, dataset string) []map[string]any {
	t.Helper()
	var out []map[string]any
	if z == zone.Curated {
		// Curated is an Iceberg table: its current snapshot, not every file on disk.
		rows, err := lakehost.CuratedRows(context.Background(), dir, dataset)
		if err != nil {
			t.Fatal(err)
		}
		return rows
	}
	err := filepath.Walk(filepath.Join(dir, lakehost.Buckets[z], dataset), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".parquet") {
			return err
		}
		body, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		rows, err := parquetfile.ReadBytes(body)
		out = append(out, rows...)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// quarantined counts the entries in the local quarantine zone, logging their reasons.
func quarantined(t *testing.T, dir string) int {
	t.Helper()
	n := 0
	err := filepath.Walk(filepath.Join(dir, lakehost.Buckets[zone.Quarantine]), func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() || !strings.HasSuffix(path, quarantine.Ext) {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		entries, err := quarantine.Decode(f)
		for _, e := range entries {
			t.Logf("quarantined: %s %s %s: %.100s", e.Reason, e.Field, e.Detail, e.Original)
		}
		n += len(entries)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return n
}
