package firehose_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/localstack/firehose"
	"github.com/sluicelake/sluice/localstack/kinesislocal"
	"github.com/sluicelake/sluice/localstack/s3local"
	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/fake"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/streamput"
)

// Kinds of bad user_events record that the archive keeps: its deserializer drops unknown
// attributes and checks types, not the contract's quality rules (the cleansed zone does).
var archived = map[fake.Kind]bool{fake.UnknownDataset: true, fake.UnknownField: true, fake.BadEnum: true,
	fake.OutOfRange: true, fake.PatternMismatch: true, fake.BadLength: true, fake.FutureTime: true, fake.DuplicateKey: true}

// Kinds whose error type is certain: the partition query cannot run, or the value cannot be
// read as its column's type.
var wantType = map[fake.Kind]string{fake.MalformedJSON: archive.ProcessingFailed, fake.TrailingData: archive.ProcessingFailed,
	fake.MissingField: archive.ProcessingFailed, fake.NoZone: archive.ProcessingFailed, fake.BadTimestamp: archive.ProcessingFailed,
	fake.InvalidUTF8: archive.ProcessingFailed, fake.NotInteger: archive.FormatConversionFailed, fake.IntOverflow: archive.FormatConversionFailed}

var (
	dataKey  = regexp.MustCompile(`^archive/user_events/dt=(\d{4}-\d{2}-\d{2})/hr=(\d{2})/sluice-archive-1-\d{4}(-\d{2}){5}-[0-9a-f-]{36}\.parquet$`)
	errorKey = regexp.MustCompile(`^archive-errors/(processing-failed|format-conversion-failed)/dt=\d{4}-\d{2}-\d{2}/hr=\d{2}/sluice-archive-1-\d{4}(-\d{2}){5}-[0-9a-f-]{36}$`)
)

// The local Firehose end to end: records of every kind from the fake producer, user_events and
// another dataset on the same stream, through kinesis-local, into the S3 stand-in.
func TestArchiveEndToEnd(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kin := kinesislocal.ForTest(t)
	kc := kin.Client()
	if err := kinesislocal.CreateStream(ctx, kc, "events", 2); err != nil {
		t.Fatal(err)
	}
	s3srv, err := s3local.Start(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer s3srv.Close()
	if err := s3srv.CreateBucket(ctx, "raw"); err != nil {
		t.Fatal(err)
	}
	store := s3store.New(s3srv.Client(), "raw")
	reg, err := events.Registry()
	if err != nil {
		t.Fatal(err)
	}
	// Interval long and size small: objects are cut by size while records arrive (several per
	// partition), the rest by Flush.
	fh, err := firehose.Start(ctx, kc, firehose.Config{Stream: "events", Contract: reg["user_events"], Store: store,
		BufferInterval: time.Hour, BufferBytes: 64 << 10, Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()

	now := time.Date(2026, 11, 23, 1, 30, 0, 0, time.UTC)
	ue, err := fake.New(reg["user_events"], fake.Options{Seed: 3, Now: now, BadShare: 0.25})
	if err != nil {
		t.Fatal(err)
	}
	cu, err := fake.New(reg["customers"], fake.Options{Seed: 3, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	w, err := streamput.New(kc, streamput.Config{StreamName: "events"})
	if err != nil {
		t.Fatal(err)
	}
	sent := map[string]fake.Record{} // by data
	goodIDs := map[string]bool{}
	var good, keep, offsets, total int
	put := func(r fake.Record) {
		if len(r.Data) == 0 {
			return // Kinesis takes no empty record
		}
		sent[string(r.Data)] = r
		total++
		if err := w.Put(ctx, streamput.Entry{Data: r.Data, PartitionKey: r.PartitionKey}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < 2000; i++ {
		r := ue.Next()
		put(r)
		switch {
		case r.Bad == "":
			var v struct{ EventID, Timestamp string }
			json.Unmarshal(r.Data, &struct {
				EventID   *string `json:"event_id"`
				Timestamp *string `json:"timestamp"`
			}{&v.EventID, &v.Timestamp})
			goodIDs[v.EventID] = true
			good++
			keep++
			if c := v.Timestamp[len(v.Timestamp)-1]; c != 'Z' {
				offsets++
			}
		case archived[r.Bad]:
			keep++
		}
	}
	for i := 0; i < 100; i++ {
		put(cu.Next())
	}
	if err := w.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := fh.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	if st := fh.Stats(); st.Records != int64(total) {
		t.Fatalf("read %d of %d records", st.Records, total)
	}

	// Converted records: Parquet under the deployed prefix and naming, each row in the
	// partition of its own event time.
	objs, err := store.List(ctx, archive.Root)
	if err != nil {
		t.Fatal(err)
	}
	rows, perPartition := 0, map[string]int{}
	for _, o := range objs {
		m := dataKey.FindStringSubmatch(o.Key)
		if m == nil {
			t.Errorf("object %s: not the deployed prefix and naming", o.Key)
			continue
		}
		perPartition[m[1]+"/"+m[2]]++
		body := get(t, store, o.Key)
		got, err := parquetfile.ReadBytes(body)
		if err != nil {
			t.Fatalf("%s: %v", o.Key, err)
		}
		for _, row := range got {
			ts := eventTime(t, row["timestamp"])
			if ts.Format("2006-01-02") != m[1] || ts.Format("15") != m[2] {
				t.Errorf("%s holds a row of %s", o.Key, ts)
			}
			if _, extra := row["_dataset"]; extra {
				t.Errorf("%s: _dataset is not a column of the table", o.Key)
			}
			delete(goodIDs, row["event_id"].(string))
		}
		rows += len(got)
	}
	if rows != keep {
		t.Errorf("%d rows archived, want %d (%d good, %d with offsets, and the bad kinds the deserializer reads)", rows, keep, good, offsets)
	}
	if len(goodIDs) > 0 {
		t.Errorf("%d good records are missing from the archive", len(goodIDs))
	}
	if offsets == 0 || len(perPartition) < 2 {
		t.Errorf("%d offsets over %d partitions: the sample misses a case", offsets, len(perPartition))
	}
	split := false
	for _, n := range perPartition {
		split = split || n > 1
	}
	if !split {
		t.Error("no partition was cut into several objects by the size hint")
	}

	// Everything else: Firehose's error documents, under the error prefix by type.
	errs, err := store.List(ctx, archive.ErrorRoot)
	if err != nil {
		t.Fatal(err)
	}
	docs := 0
	for _, o := range errs {
		m := errorKey.FindStringSubmatch(o.Key)
		if m == nil {
			t.Errorf("error object %s: not the deployed error prefix and naming", o.Key)
			continue
		}
		for _, line := range bytes.Split(bytes.TrimSpace(get(t, store, o.Key)), []byte("\n")) {
			var doc archive.ErrorRecord
			if err := json.Unmarshal(line, &doc); err != nil {
				t.Fatalf("%s: %v", o.Key, err)
			}
			docs++
			r, ok := sent[string(doc.RawData)]
			if !ok {
				t.Errorf("%s: rawData %q is no record sent", o.Key, doc.RawData)
				continue
			}
			if r.Dataset == "user_events" && (r.Bad == "" || archived[r.Bad]) {
				t.Errorf("%s: a record the archive keeps (%q) failed: %s%s", o.Key, r.Bad, doc.ErrorMessage, doc.LastErrorMessage)
			}
			if want := wantType[r.Bad]; want != "" && want != m[1] {
				t.Errorf("%s record in %s, want %s", r.Bad, m[1], want)
			}
			if r.Dataset == "customers" && m[1] != archive.ProcessingFailed {
				t.Errorf("a customers record in %s, want %s", m[1], archive.ProcessingFailed)
			}
			if doc.ErrorCode == "" && doc.LastErrorCode == "" || doc.SequenceNumber == "" || doc.ArrivalTimestamp == 0 {
				t.Errorf("%s: error document lacks its code, sequence number or arrival: %s", o.Key, line)
			}
		}
	}
	if docs != total-keep {
		t.Errorf("%d error documents, want %d", docs, total-keep)
	}
	t.Logf("%d records: %d rows archived (%d good, %d with offsets) in %d objects over %d partitions; %d error documents in %d objects",
		total, rows, good, offsets, len(objs), len(perPartition), docs, len(errs))
	if st := fh.Stats(); st.Delivered != int64(keep) || st.Failed != int64(total-keep) {
		t.Errorf("stats %+v, want %d delivered and %d failed", st, keep, total-keep)
	}
}

func get(t *testing.T, store *s3store.Store, key string) []byte {
	rc, _, err := store.Get(context.Background(), key)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func eventTime(t *testing.T, v any) time.Time {
	switch x := v.(type) {
	case time.Time:
		return x.UTC()
	case int64:
		return time.UnixMilli(x).UTC()
	}
	t.Fatalf("timestamp column read as %T", v)
	return time.Time{}
}
