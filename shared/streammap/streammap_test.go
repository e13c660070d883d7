package streammap

import (
	"strings"
	"testing"
)

func TestNewRefusesAmbiguousStreams(t *testing.T) {
	for _, c := range []struct {
		name     string
		datasets map[string]string
		shared   string
		want     string
	}{
		{"two datasets, one stream", map[string]string{"a": "s", "b": "s"}, "shared", "both have stream"},
		{"a dataset on the shared stream", map[string]string{"a": "shared"}, "shared", "shared stream"},
		{"unnamed stream", map[string]string{"a": ""}, "shared", "must be named"},
	} {
		if _, err := New(c.datasets, c.shared); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want one saying %q", c.name, err, c.want)
		}
	}
	if _, err := Parse(`["customers"]`, "s"); err == nil || !strings.Contains(err.Error(), EnvDatasetStreams) {
		t.Errorf("a JSON array: err = %v, want one naming %s", err, EnvDatasetStreams)
	}
}

func TestRoundTrip(t *testing.T) {
	m, err := Parse("", "shared")
	if err != nil || m.StreamFor("any") != "shared" || len(m.Datasets()) != 0 {
		t.Fatalf("empty map: %v %q %v", err, m.StreamFor("any"), m.Datasets())
	}
	m, err = New(map[string]string{"b": "sb", "a": "sa"}, "")
	if err != nil {
		t.Fatal(err)
	}
	back, err := Parse(m.Encode(), "")
	if err != nil || back.Encode() != m.Encode() || strings.Join(back.Datasets(), ",") != "a,b" {
		t.Fatalf("round trip: %v %s %v", err, back.Encode(), back.Datasets())
	}
	if d, ok := back.DatasetOf("arn:aws:kinesis:eu-west-1:1:stream/sb"); !ok || d != "b" {
		t.Fatalf("DatasetOf(ARN) = %q %v", d, ok)
	}
	if _, ok := back.DatasetOf("arn:aws:kinesis:eu-west-1:1:stream/other"); ok {
		t.Fatal("an unknown stream has no dataset")
	}
}
