package obs_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sluicelake/sluice/shared/obs"
)

var fixed = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func clock() time.Time { return fixed }

func TestFlushWritesExactEMF(t *testing.T) {
	m := obs.NewMetrics("ingest", obs.WithClock(clock))
	m.Add("user_events", "RecordsIn", obs.Count, 7)
	m.Add("user_events", "RecordsIn", obs.Count, 3)
	m.Set("user_events", "ParquetBytes", obs.Bytes, 100)
	m.Set("user_events", "ParquetBytes", obs.Bytes, 2048)
	m.Set("", "BatchMillis", obs.Milliseconds, 12.5)

	var buf bytes.Buffer
	if err := m.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	want := `{"_aws":{"Timestamp":1795435200000,"CloudWatchMetrics":[{"Namespace":"Sluice","Dimensions":[["function"]],"Metrics":[{"Name":"BatchMillis","Unit":"Milliseconds"}]}]},"level":"FATAL","timestamp":"2026-11-23T12:00:00Z","function":"ingest","BatchMillis":12.5}
{"_aws":{"Timestamp":1795435200000,"CloudWatchMetrics":[{"Namespace":"Sluice","Dimensions":[["function","dataset"]],"Metrics":[{"Name":"ParquetBytes","Unit":"Bytes"},{"Name":"RecordsIn","Unit":"Count"}]}]},"level":"FATAL","timestamp":"2026-11-23T12:00:00Z","function":"ingest","dataset":"user_events","ParquetBytes":2048,"RecordsIn":10}
`
	if got := buf.String(); got != want {
		t.Fatalf("EMF output differs\ngot:\n%s\nwant:\n%s", got, want)
	}

	// Flush starts afresh: nothing recorded means nothing written.
	buf.Reset()
	if err := m.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	if buf.Len() != 0 {
		t.Fatalf("second Flush wrote %q, want nothing", buf.String())
	}
}

// Every line must satisfy the EMF rules CloudWatch enforces: each dimension and each
// metric named in the directive is a top-level member, and values are numbers.
func TestFlushLinesAreValidEMF(t *testing.T) {
	m := obs.NewMetrics("promote", obs.WithNamespace("SluiceTest"))
	for i := range 250 {
		m.Add("customers", fmt.Sprintf("M%03d", i), obs.Count, float64(i))
	}
	var buf bytes.Buffer
	if err := m.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(&buf)
	sc.Buffer(nil, 1<<20)
	lines, metrics := 0, 0
	for sc.Scan() {
		lines++
		var doc map[string]any
		if err := json.Unmarshal(sc.Bytes(), &doc); err != nil {
			t.Fatalf("line %d is not JSON: %v", lines, err)
		}
		aws := doc["_aws"].(map[string]any)
		if _, ok := aws["Timestamp"].(float64); !ok {
			t.Fatalf("line %d: _aws.Timestamp missing or not a number", lines)
		}
		dirs := aws["CloudWatchMetrics"].([]any)
		if len(dirs) != 1 {
			t.Fatalf("line %d: %d directives, want 1", lines, len(dirs))
		}
		dir := dirs[0].(map[string]any)
		if dir["Namespace"] != "SluiceTest" {
			t.Errorf("line %d: namespace %v", lines, dir["Namespace"])
		}
		for _, set := range dir["Dimensions"].([]any) {
			for _, d := range set.([]any) {
				if _, ok := doc[d.(string)].(string); !ok {
					t.Errorf("line %d: dimension %v has no string member", lines, d)
				}
			}
		}
		defs := dir["Metrics"].([]any)
		if len(defs) > 100 {
			t.Errorf("line %d: %d metric definitions, EMF allows 100", lines, len(defs))
		}
		for _, def := range defs {
			name := def.(map[string]any)["Name"].(string)
			if _, ok := doc[name].(float64); !ok {
				t.Errorf("line %d: metric %s has no numeric member", lines, name)
			}
			metrics++
		}
	}
	if lines != 3 || metrics != 250 {
		t.Fatalf("got %d lines with %d metrics, want 3 lines with 250", lines, metrics)
	}
}

func TestFlushReportsRejectedMetrics(t *testing.T) {
	m := obs.NewMetrics("ingest", obs.WithClock(clock))
	m.Add("d", "dataset", obs.Count, 1)
	m.Add("d", "Bad", obs.Count, math.NaN())
	m.Add("d", "Good", obs.Count, 1)
	m.Add("d", "Good", obs.Bytes, 1)
	var buf bytes.Buffer
	err := m.Flush(&buf)
	if err == nil {
		t.Fatal("Flush accepted a metric named like a dimension, a NaN and a unit change")
	}
	for _, want := range []string{`"dataset"`, `"Bad"`, `"Good": recorded in Count before, now in Bytes`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %s", err, want)
		}
	}
	if !strings.Contains(buf.String(), `"Good":1}`) {
		t.Errorf("the valid metric was not written: %s", buf.String())
	}
}

func TestMetricsConcurrentAdds(t *testing.T) {
	m := obs.NewMetrics("ingest", obs.WithClock(clock))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				m.Add("user_events", "RecordsIn", obs.Count, 1)
			}
		})
	}
	wg.Wait()
	var buf bytes.Buffer
	if err := m.Flush(&buf); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), `"RecordsIn":8000}`) {
		t.Fatalf("lost concurrent adds: %s", buf.String())
	}
}

func ExampleMetrics() {
	m := obs.NewMetrics("ingest", obs.WithClock(func() time.Time { return time.UnixMilli(1795435200000) }))
	m.Add("user_events", "RecordsValid", obs.Count, 9998)
	m.Add("user_events", "RecordsQuarantined", obs.Count, 2)
	m.Set("user_events", "ParquetBytes", obs.Bytes, 786432)
	if err := m.Flush(os.Stdout); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"_aws":{"Timestamp":1795435200000,"CloudWatchMetrics":[{"Namespace":"Sluice","Dimensions":[["function","dataset"]],"Metrics":[{"Name":"ParquetBytes","Unit":"Bytes"},{"Name":"RecordsQuarantined","Unit":"Count"},{"Name":"RecordsValid","Unit":"Count"}]}]},"level":"FATAL","timestamp":"2026-11-23T12:00:00Z","function":"ingest","dataset":"user_events","ParquetBytes":786432,"RecordsQuarantined":2,"RecordsValid":9998}
}
