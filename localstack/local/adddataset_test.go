package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/infra/bundle"
	"github.com/sluicelake/sluice/localstack/duckengine"
	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/promote"
	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
	"github.com/sluicelake/sluice/shared/zone"
)

// TestAddADataset walks the README's "Add a dataset" on a dataset the repository does not have:
// a sample file, `make infer` on it in a copy of the module, the functions built from that copy
// (the new contract is the only change), the local lake, a producer writing into the dataset's
// own stream, and the query API returning every record from cleansed and curated.
func TestAddADataset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	tmp := t.TempDir()
	mod := copyModule(t, filepath.Join(tmp, "module"))

	// A producer's orders as it writes them: event times with the offset of the shop's zone.
	type order struct {
		id, email, phone, name, currency, status string
		amount                                   float64
		at                                       time.Time
	}
	currencies, statuses := []string{"EUR", "USD", "GBP"}, []string{"placed", "paid", "shipped", "cancelled"}
	zones := []*time.Location{time.FixedZone("", 2*3600), time.FixedZone("", -5*3600), time.UTC}
	now := time.Now().Truncate(time.Millisecond)
	var orders []order
	var sample strings.Builder
	for i := range 60 {
		o := order{id: fmt.Sprintf("%08x-4d2c-4b1e-9f3a-%012x", 0x5eed0000+i*7919, i*104729),
			email: fmt.Sprintf("buyer%d@example.org", i), phone: fmt.Sprintf("+44 20 7946 0%03d", i),
			name:     []string{"Ada", "Alan", "Grace", "Edsger", "Barbara"}[i%5] + " " + []string{"Byron", "Turing", "Hopper", "Dijkstra", "Liskov", "Knuth", "Ritchie"}[i%7],
			currency: currencies[i%3], status: statuses[i%4], amount: float64(1000+i*137) / 100,
			at: now.Add(-time.Duration(i) * time.Minute)}
		orders = append(orders, o)
		fmt.Fprintf(&sample, `{"order_id":%q,"customer_email":%q,"customer_phone":%q,"customer_name":%q,"amount":%v,"currency":%q,"status":%q,"created_at":%q}`+"\n",
			o.id, o.email, o.phone, o.name, o.amount, o.currency, o.status, o.at.In(zones[i%3]).Format("2006-01-02T15:04:05.000-07:00"))
	}
	samplePath := filepath.Join(tmp, "orders-export.jsonl")
	if err := os.WriteFile(samplePath, []byte(sample.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// Step 1: make infer, exactly as the README says, in the copy.
	infer := exec.CommandContext(ctx, "make", "infer", "SAMPLE="+samplePath, "DATASET=orders")
	infer.Dir = mod
	if out, err := infer.CombinedOutput(); err != nil {
		t.Fatalf("make infer: %v\n%s", err, out)
	}
	reg := loadContracts(t, mod)
	c := reg["orders"]
	if c == nil {
		t.Fatalf("no orders contract in the copy's events/: %v", slices.Collect(maps.Keys(reg)))
	}
	// The guesses the walk relies on: key, event time, enums and PII.
	field := func(name string) *contract.Field {
		f, ok := c.Field(name)
		if !ok {
			t.Fatalf("the inferred contract has no %s: %v", name, c.FieldNames())
		}
		return f
	}
	if len(c.Key) != 1 || c.Fields[c.Key[0]].Name != "order_id" || c.Fields[c.EventTime].Name != "created_at" {
		t.Fatalf("key %v, event time %s: want order_id and created_at", c.Key, c.Fields[c.EventTime].Name)
	}
	if field("currency").Kind != contract.Enum || field("status").Kind != contract.Enum || field("amount").Kind != contract.Double {
		t.Fatalf("currency %s, status %s, amount %s: want enum, enum, double", field("currency").Kind, field("status").Kind, field("amount").Kind)
	}
	if field("customer_email").PII != contract.Hash || field("customer_phone").PII != contract.Mask {
		t.Fatalf("customer_email %s, customer_phone %s: want hash and mask", field("customer_email").PII, field("customer_phone").PII)
	}
	// The review the README asks for: infer takes customer_name for data (PII keep); the shop
	// wants it out of curated. The contract file is still the only change.
	if field("customer_name").PII != contract.Keep {
		t.Fatalf("customer_name %s: the walk expects infer's keep, then a reviewer's drop", field("customer_name").PII)
	}
	setFieldAttr(t, filepath.Join(mod, "events", "orders.avsc"), "customer_name", "sluice.pii", "drop")
	reg = loadContracts(t, mod)

	// Step 2: build the functions from the copy: the binaries embed the new contract.
	bin := filepath.Join(tmp, "bin")
	for _, fn := range []string{"ingest", "promote"} {
		if _, err := bundle.Function(ctx, mod, bin, fn, runtime.GOARCH); err != nil {
			t.Fatal(err)
		}
	}

	// Step 3: the local lake with the copy's contracts: orders gets its own stream.
	dir := filepath.Join(tmp, "lake")
	lake, err := lakehost.Start(ctx, lakehost.Config{Dir: dir, BinDir: bin, Contracts: reg, BatchSize: 100, BatchWindow: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { lake.Close() })
	stream := lakehost.DatasetStream("orders")
	listed, err := lake.KinesisClient.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatal(err)
	}
	if lake.Streams.StreamFor("orders") != stream || !slices.Contains(listed.StreamNames, stream) {
		t.Fatalf("orders goes to %q; streams %v: want %s", lake.Streams.StreamFor("orders"), listed.StreamNames, stream)
	}

	// Step 4: produce the sample's lines as a producer does: one PutRecord each, no _dataset.
	for i, line := range strings.Split(strings.TrimSpace(sample.String()), "\n") {
		if _, err := lake.KinesisClient.PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String(stream),
			Data: []byte(line), PartitionKey: aws.String(orders[i].id)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	counts, err := lake.Summary()
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range counts {
		if n.Zone == zone.Quarantine && n.Rows > 0 {
			t.Errorf("%d %s records quarantined: %v", n.Rows, n.Dataset, n.Reasons)
		}
	}

	// Step 5: the query API, structured queries on both zones.
	// The reviewer reads cleansed as a data steward: the shipped grant names every dataset ("*"),
	// the new one included.
	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := duckengine.Serve(duckengine.ServeOptions{
		Engine:    duckengine.Options{LakeDir: lake.Dir(), Buckets: lakehost.Buckets},
		Contracts: reg, Access: policy,
	})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	client := &api.Client{BaseURL: srv.URL, Sign: api.AsCaller("arn:aws:iam::123456789012:role/sluice-data-steward")}
	for _, z := range []zone.Zone{zone.Cleansed, zone.Curated} {
		// Every column the zone holds, by default: curated has no customer_name.
		res, err := client.Run(ctx, &query.Request{Dataset: "orders", Zone: string(z), Limit: 1000})
		if err != nil {
			t.Fatalf("%s: %v", z, err)
		}
		if len(res.Rows) != len(orders) {
			t.Errorf("%s: %d rows, want %d", z, len(res.Rows), len(orders))
		}
		col := map[string]int{}
		for i, cl := range res.Columns {
			col[cl.Name] = i
		}
		if _, has := col["customer_name"]; has != (z == zone.Cleansed) {
			t.Errorf("%s: columns %v: customer_name is dropped in curated only", z, res.Columns)
		}
		byID := map[string]map[string]any{}
		for _, r := range res.Rows {
			row := map[string]any{}
			for name, i := range col {
				row[name] = r[i]
			}
			byID[fmt.Sprint(row["order_id"])] = row
		}
		for _, o := range orders {
			row := byID[o.id]
			if row == nil {
				t.Errorf("%s: order %s missing", z, o.id)
				continue
			}
			if fmt.Sprint(row["amount"]) != fmt.Sprint(o.amount) || row["currency"] != o.currency || row["status"] != o.status {
				t.Errorf("%s %s: amount %v currency %v status %v, want %v %s %s", z, o.id, row["amount"], row["currency"], row["status"], o.amount, o.currency, o.status)
			}
			at, err := time.Parse(time.RFC3339Nano, fmt.Sprint(row["created_at"]))
			if err != nil || !at.Equal(o.at) {
				t.Errorf("%s %s: created_at %v, want the instant %s (%v)", z, o.id, row["created_at"], o.at.UTC().Format(time.RFC3339Nano), err)
			}
			email, phone := fmt.Sprint(row["customer_email"]), fmt.Sprint(row["customer_phone"])
			switch z {
			case zone.Cleansed:
				if email != o.email || phone != o.phone || row["customer_name"] != o.name {
					t.Errorf("cleansed %s: %s %s %v, want %s %s %s as sent", o.id, email, phone, row["customer_name"], o.email, o.phone, o.name)
				}
			case zone.Curated:
				// The inferred policy: email hashed, phone masked.
				if email == o.email || row["customer_email"] == nil || phone != promote.Mask(o.phone) {
					t.Errorf("curated %s: customer_email %v customer_phone %v, want hashed and %q", o.id, email, phone, promote.Mask(o.phone))
				}
			}
		}
		// An aggregate over the new dataset, as a dashboard asks it.
		res, err = client.Run(ctx, &query.Request{Dataset: "orders", Zone: string(z), GroupBy: []string{"currency"},
			Aggregates: []query.Aggregate{{Func: "count", As: "n"}}, OrderBy: []query.Order{{Column: "currency"}}})
		if err != nil {
			t.Fatalf("%s count by currency: %v", z, err)
		}
		if got := fmt.Sprint(res.Rows); got != "[[EUR 20] [GBP 20] [USD 20]]" {
			t.Errorf("%s: orders by currency %s, want 20 of each", z, got)
		}
	}

	// make local produces fake records of every contract: the inferred one generates too, and
	// every record is accounted for (the bad ones quarantined, the rest cleansed).
	tally, stats, err := lake.Produce(ctx, "orders", 200, 0.1, 7, nil)
	if err != nil || stats.Failed > 0 {
		t.Fatalf("produce fake orders: %v (%d failed)", err, stats.Failed)
	}
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if counts, err = lake.Summary(); err != nil {
		t.Fatal(err)
	}
	// Quarantine files records it cannot tell the dataset of (malformed JSON, say) apart: count
	// every dataset there, none of which had any before.
	rows := map[zone.Zone]int64{}
	for _, n := range counts {
		if n.Dataset == "orders" || n.Zone == zone.Quarantine {
			rows[n.Zone] += n.Rows
		}
	}
	if rows[zone.Cleansed] != int64(len(orders)+tally.Total()-tally.Bad()) || rows[zone.Quarantine] != int64(tally.Bad()) {
		t.Errorf("after %d fake orders (%d bad, %v): cleansed %d, quarantined %d; want %d and %d", tally.Total(), tally.Bad(), tally,
			rows[zone.Cleansed], rows[zone.Quarantine], len(orders)+tally.Total()-tally.Bad(), tally.Bad())
	}
}

// loadContracts loads the module copy's contracts as the functions built from it embed them.
func loadContracts(t *testing.T, mod string) map[string]*contract.Contract {
	t.Helper()
	cs, err := contract.LoadFS(os.DirFS(filepath.Join(mod, "events")), "events")
	if err != nil {
		t.Fatalf("the contracts of the copy do not load: %v", err)
	}
	reg := map[string]*contract.Contract{}
	for _, c := range cs {
		reg[c.Name] = c
	}
	return reg
}

// setFieldAttr sets an attribute of one field in an .avsc file, as a reviewer edits the draft.
func setFieldAttr(t *testing.T, path, field, attr string, value any) {
	t.Helper()
	body, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var rec map[string]any
	if err := json.Unmarshal(body, &rec); err != nil {
		t.Fatal(err)
	}
	fields, _ := rec["fields"].([]any)
	for _, f := range fields {
		if f, ok := f.(map[string]any); ok && f["name"] == field {
			f[attr] = value
			if body, err = json.MarshalIndent(rec, "", "  "); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, body, 0o644); err != nil {
				t.Fatal(err)
			}
			return
		}
	}
	t.Fatalf("%s has no field %s", path, field)
}

// copyModule copies the module's tracked files (as they are on disk) to dst, so that a test can
// add a contract to events/ and build from the copy without touching the checkout.
func copyModule(t *testing.T, dst string) string {
	t.Helper()
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files in %s: %v", root, err)
	}
	for _, rel := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
		body, err := os.ReadFile(filepath.Join(root, rel))
		if os.IsNotExist(err) {
			continue // deleted in the checkout, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(filepath.Join(dst, filepath.Dir(rel)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, rel), body, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}
