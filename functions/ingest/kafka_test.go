package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/localstack/runtimeapi"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
	"github.com/sluicelake/sluice/shared/parquetfile"
	"github.com/sluicelake/sluice/shared/provenance"
	"github.com/sluicelake/sluice/shared/quarantine"
)

// TestKafkaSampleEvents runs the MSK and self-managed Kafka samples through the built binary:
// JSON and wire-format Avro values land in the cleansed zone under their topic's (or schema
// id's) dataset, and the bad value, the unknown schema id and the tombstone in quarantine.
func TestKafkaSampleEvents(t *testing.T) {
	exe := build(t)
	for _, sample := range []string{"kafka-msk.json", "kafka-self-managed.json"} {
		t.Run(sample, func(t *testing.T) {
			payload, err := os.ReadFile("../../events/samples/" + sample)
			if err != nil {
				t.Fatal(err)
			}
			client, endpoint := s3test.StartGofakes3(t)
			cleansed := s3test.CreateBucket(t, client, "cleansed")
			quarantined := s3test.CreateBucket(t, client, "quarantine")
			fn, err := runtimeapi.Start(context.Background(), runtimeapi.Config{
				Name: "ingest", Binary: exe, MemorySize: 128,
				Env: []string{"AWS_ENDPOINT_URL_S3=" + endpoint, "AWS_ACCESS_KEY_ID=" + s3test.AccessKey,
					"AWS_SECRET_ACCESS_KEY=" + s3test.SecretKey, "AWS_REGION=us-east-1", "SLUICE_TRACING=off",
					envvar.CleansedBucket + "=" + cleansed, envvar.QuarantineBucket + "=" + quarantined,
					envvar.KafkaTopics + `={"clicks":"user_events","customers.cdc":"customers"}`,
					envvar.KafkaSchemaIDs + `={"7":"customers"}`},
			})
			if err != nil {
				t.Fatal(err)
			}
			defer fn.Close()
			res, err := fn.Invoke(context.Background(), payload)
			if err != nil || res.FunctionError != nil {
				t.Fatalf("%v %v", err, res.FunctionError)
			}
			rows := map[string]int{}
			for _, key := range s3test.Keys(t, client, cleansed, "") {
				if strings.HasPrefix(key, provenance.SidecarPrefix) {
					continue
				}
				r, err := parquetfile.ReadBytes(s3test.Read(t, client, cleansed, key))
				if err != nil {
					t.Fatal(err)
				}
				rows[strings.SplitN(key, "/", 2)[0]] += len(r)
			}
			reasons := map[string]int{}
			for _, key := range s3test.Keys(t, client, quarantined, "") {
				entries, err := quarantine.Decode(bytes.NewReader(s3test.Read(t, client, quarantined, key)))
				if err != nil {
					t.Fatal(err)
				}
				for _, e := range entries {
					reasons[e.Reason]++
				}
			}
			if rows["user_events"] != 4 || rows["customers"] != 3 || reasons["pattern_mismatch"] != 1 ||
				reasons["unknown_schema_id"] != 1 || reasons["empty_record"] != 1 {
				t.Fatalf("cleansed %v, quarantined %v; want 4 user_events and 3 customers, one each of pattern_mismatch, unknown_schema_id, empty_record", rows, reasons)
			}
		})
	}
}
