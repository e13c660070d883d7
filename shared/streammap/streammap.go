// Package streammap says which Kinesis stream carries which dataset: by default every dataset has
// a stream of its own, and one shared stream takes records of any dataset that name it in
// `_dataset`. Infra writes the map into the functions' environment, ingest reads it to give a
// record without `_dataset` the dataset of the stream it arrived on, and the HTTP ingestion API
// reads it to know where a dataset's records go.
package streammap

import (
	"github.com/sluicelake/sluice/shared/envvar"

	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// EnvDatasetStreams names the variable holding the map as a JSON object, dataset → stream name.
const EnvDatasetStreams = envvar.DatasetStreams

// Map routes datasets to streams and streams to datasets.
type Map struct {
	// Shared is the stream any dataset may use (records carry `_dataset`); "" when there is none.
	Shared    string
	byDataset map[string]string
	byStream  map[string]string
}

// New builds a map from dataset → stream name. Two datasets cannot share a dedicated stream (a
// record without `_dataset` would be ambiguous), and no dataset's stream can be the shared one.
func New(datasets map[string]string, shared string) (Map, error) {
	m := Map{Shared: shared, byDataset: map[string]string{}, byStream: map[string]string{}}
	for d, s := range datasets {
		if d == "" || s == "" {
			return Map{}, fmt.Errorf("streammap: dataset %q has stream %q: both must be named", d, s)
		}
		if s == shared {
			return Map{}, fmt.Errorf("streammap: dataset %q is given the shared stream %q: a dataset's own stream carries only that dataset", d, s)
		}
		if other, taken := m.byStream[s]; taken {
			return Map{}, fmt.Errorf("streammap: datasets %q and %q both have stream %q: give each its own, or send both to the shared stream with _dataset", other, d, s)
		}
		m.byDataset[d], m.byStream[s] = s, d
	}
	return m, nil
}

// Parse reads the JSON object of EnvDatasetStreams ("" is an empty map: only the shared stream).
func Parse(datasetStreams, shared string) (Map, error) {
	datasets := map[string]string{}
	if strings.TrimSpace(datasetStreams) != "" {
		if err := json.Unmarshal([]byte(datasetStreams), &datasets); err != nil {
			return Map{}, fmt.Errorf("streammap: %s must be a JSON object of dataset to stream name, e.g. {\"customers\":\"sluice-customers\"}: %w", EnvDatasetStreams, err)
		}
	}
	return New(datasets, shared)
}

// Encode is the value of EnvDatasetStreams for m (keys sorted, so it is deterministic).
func (m Map) Encode() string {
	b, _ := json.Marshal(m.byDataset) // encoding/json sorts map keys
	return string(b)
}

// StreamFor is the stream a dataset's records are written to: its own, else the shared one.
func (m Map) StreamFor(dataset string) string {
	if s, ok := m.byDataset[dataset]; ok {
		return s
	}
	return m.Shared
}

// DatasetOf is the dataset a stream carries, given the stream's name or ARN
// (arn:aws:kinesis:region:account:stream/name, as Lambda's Kinesis events give it). ok is false
// for the shared stream and for streams the map does not know.
func (m Map) DatasetOf(stream string) (dataset string, ok bool) {
	dataset, ok = m.byStream[Name(stream)]
	return dataset, ok
}

// Datasets lists the datasets with a stream of their own, sorted.
func (m Map) Datasets() []string {
	out := make([]string, 0, len(m.byDataset))
	for d := range m.byDataset {
		out = append(out, d)
	}
	sort.Strings(out)
	return out
}

// Name is a stream's name from its name or ARN.
func Name(stream string) string {
	if i := strings.LastIndex(stream, ":stream/"); i >= 0 && strings.HasPrefix(stream, "arn:") {
		return stream[i+len(":stream/"):]
	}
	return stream
}
