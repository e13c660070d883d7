// Package collect is the HTTP ingestion API's logic: POST /events/{dataset} (or POST /events
// with `_dataset` in each record) takes a JSON array or JSON lines, validates every record
// synchronously with the lake's one validator (shared/record, as ingest does), writes the valid
// ones to their dataset's Kinesis stream and answers per record, in order, the way Kinesis
// answers PutRecords: FailedRecordCount, then for each record its sequence number and shard, or
// an error code with the field and detail. It knows nothing of Lambda or API Gateway.
package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/record"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/streamput"
)

// The limits of one call. API Gateway's HTTP API takes 10 MB, but it hands the body to Lambda
// inside a JSON event (quoted, or base64: 4/3 larger) and a synchronous invocation takes at most
// 6 MB; 4 MiB of body fits in every case. Records per call and bytes per record are Kinesis'
// own PutRecords limits, so a call maps onto the stream without surprises.
const (
	MaxBodyBytes   = 4 << 20
	MaxRecords     = streamput.MaxRecordsPerCall
	MaxRecordBytes = streamput.MaxRecordBytes // the record as written (with `_dataset`) plus its partition key
)

// Codes of the answer that are not the validator's (those are record.Code values).
const (
	// DatasetMismatch: a record names another dataset than the path does.
	DatasetMismatch = "dataset_mismatch"
	// GzipRecord: a record inside the body is gzip'd; the HTTP API takes JSON text.
	GzipRecord = "gzip_not_accepted"
	// NoStream: no stream is configured for the record's dataset (a deployment problem).
	NoStream = "no_stream_for_dataset"
)

// Service answers the HTTP ingestion API. Its fields are its configuration.
type Service struct {
	Contracts map[string]*contract.Contract
	Streams   streammap.Map
	Kinesis   streamput.API
	// Options are the validator's; DefaultDataset is ignored (the path names the dataset).
	Options record.Options
	// Put tunes the stream writes (attempts and backoff for refused records); the stream is set
	// per dataset.
	Put streamput.Config
	Log *slog.Logger
}

// Request is an HTTP request as the service needs it.
type Request struct {
	Method string
	Path   string // may carry a stage prefix: /prod/events/customers
	Body   []byte
}

// Response is the status and JSON body to answer.
type Response struct {
	Status int
	Body   []byte
}

// Answer is the body of every answer to a call that was read: one Record per record, in order.
type Answer struct {
	FailedRecordCount int      `json:"FailedRecordCount"`
	Records           []Result `json:"Records"`
	// Error is set on a 4xx/5xx answer and says what to do.
	Error string `json:"Error,omitempty"`
}

// Result is one record's fate: accepted (SequenceNumber and ShardId, as Kinesis gives them) or
// not (ErrorCode, Field, ErrorMessage). Retryable marks records the stream refused after our
// retries: sending them again may work, while a rejected record needs fixing first.
type Result struct {
	Dataset        string `json:"Dataset,omitempty"`
	SequenceNumber string `json:"SequenceNumber,omitempty"`
	ShardId        string `json:"ShardId,omitempty"` //nolint:revive // Kinesis' own spelling
	ErrorCode      string `json:"ErrorCode,omitempty"`
	Field          string `json:"Field,omitempty"`
	ErrorMessage   string `json:"ErrorMessage,omitempty"`
	Retryable      bool   `json:"Retryable,omitempty"`
}

// Serve answers one request.
func (s *Service) Serve(ctx context.Context, req Request) Response {
	dataset, ok := route(req.Path)
	if !ok {
		return failure(http.StatusNotFound, "no such route %q: POST /events/{dataset} or POST /events", req.Path)
	}
	if req.Method != http.MethodPost {
		return failure(http.StatusMethodNotAllowed, "%s %s: only POST is served here", req.Method, req.Path)
	}
	if dataset != "" && s.Contracts[dataset] == nil {
		return failure(http.StatusNotFound, "no dataset %q: known datasets are %s", dataset, strings.Join(s.datasets(), ", "))
	}
	if c := s.Contracts[dataset]; c != nil && cdc.IsChangeStream(c) {
		return failure(http.StatusBadRequest, "%s is a change stream: its events are its source database's changes, which Debezium writes to Kafka; post to one of %s",
			dataset, strings.Join(s.datasets(), ", "))
	}
	if len(req.Body) > MaxBodyBytes {
		return failure(http.StatusRequestEntityTooLarge, "the body is %d bytes, over the limit of %d: send at most %d records and %d bytes a call", len(req.Body), MaxBodyBytes, MaxRecords, MaxBodyBytes)
	}
	recs, _, err := SplitBody(req.Body)
	if err != nil {
		return failure(http.StatusBadRequest, "%s", strings.TrimPrefix(err.Error(), "collect: "))
	}
	if len(recs) == 0 {
		return failure(http.StatusBadRequest, "the JSON array is empty: send at least one record")
	}
	if len(recs) > MaxRecords {
		return failure(http.StatusRequestEntityTooLarge, "%d records in one call, over the limit of %d: split the call", len(recs), MaxRecords)
	}
	ans, err := s.Collect(ctx, dataset, recs)
	status := http.StatusOK
	if err != nil {
		// Nothing reached the stream and the stream is at fault, not the caller.
		status = http.StatusServiceUnavailable
		ans.Error = err.Error() + ": nothing was written; send the call again later"
		if s.Log != nil {
			s.Log.Error("stream write failed", "dataset", dataset, "records", len(recs), "error", err)
		}
	}
	if s.Log != nil {
		s.Log.Info("events collected", "dataset", dataset, "records", len(recs), "failed", ans.FailedRecordCount, "status", status)
	}
	return respond(status, ans)
}

// route takes the dataset out of .../events/{dataset} ("" for .../events). A stage name may
// come first, as API Gateway passes a named stage in the raw path.
func route(path string) (dataset string, ok bool) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch n := len(parts); {
	case n >= 1 && parts[n-1] == "events":
		return "", true
	case n >= 2 && parts[n-2] == "events" && parts[n-1] != "":
		return parts[n-1], true
	}
	return "", false
}

// pending is a valid record bound for a stream, with its index in the call.
type pending struct {
	index int
	entry streamput.Entry
}

// Collect validates recs (of dataset, or each naming its own when dataset is "") and writes
// the valid ones to their streams. The error is set only when no record reached a stream
// because a stream call failed outright; the Answer then still accounts for every record.
func (s *Service) Collect(ctx context.Context, dataset string, recs [][]byte) (Answer, error) {
	ans := Answer{Records: make([]Result, len(recs))}
	opts := s.Options
	opts.DefaultDataset = ""
	named := record.NewBatch(s.Contracts, opts) // records that carry `_dataset`
	defer named.Release()
	var unnamed *record.Batch // records that take the path's dataset
	if dataset != "" {
		opts.DefaultDataset = dataset
		unnamed = record.NewBatch(s.Contracts, opts)
		defer unnamed.Release()
	}

	byStream := map[string][]pending{}
	var streams []string
	for i, data := range recs {
		res := &ans.Records[i]
		if len(data) >= 2 && data[0] == 0x1f && data[1] == 0x8b {
			*res = Result{ErrorCode: GzipRecord, ErrorMessage: "a gzip'd record inside the body: send records as JSON text"}
			continue
		}
		batch, out := named, data
		ds, rej := named.Add(data, i)
		if rej != nil && rej.Code == record.NoDataset && unnamed != nil {
			// The record names no dataset: it is the path's, and says so on the stream, where
			// the shared stream's reader would otherwise take it as the default dataset.
			batch = unnamed
			ds, rej = unnamed.Add(data, i)
			if rej == nil {
				out = withDataset(data, ds)
			}
		}
		res.Dataset = ds
		if rej != nil {
			res.ErrorCode, res.Field, res.ErrorMessage = string(rej.Code), rej.Field, rej.Detail
			if rej.Code == record.NoDataset {
				res.ErrorMessage = fmt.Sprintf("the record has no %q field: name its dataset there, or post to /events/{dataset}", record.DatasetField)
			}
			continue
		}
		if dataset != "" && ds != dataset {
			res.ErrorCode, res.Field = DatasetMismatch, record.DatasetField
			res.ErrorMessage = fmt.Sprintf("the record names dataset %q but was posted to /events/%s: post it to /events/%s, or drop its %s", ds, dataset, ds, record.DatasetField)
			continue
		}
		e := streamput.Entry{Data: out, PartitionKey: partitionKey(batch, ds, out)}
		if n := len(e.Data) + len(e.PartitionKey); n > MaxRecordBytes {
			res.ErrorCode = string(record.TooLarge)
			res.ErrorMessage = fmt.Sprintf("%d bytes with its dataset and partition key, over Kinesis' limit of %d per record", n, MaxRecordBytes)
			continue
		}
		stream := s.Streams.StreamFor(ds)
		if stream == "" {
			res.ErrorCode, res.ErrorMessage = NoStream, fmt.Sprintf("no stream is configured for dataset %q and there is no shared stream: set %s", ds, streammap.EnvDatasetStreams)
			continue
		}
		if byStream[stream] == nil {
			streams = append(streams, stream)
		}
		byStream[stream] = append(byStream[stream], pending{index: i, entry: e})
	}

	var callErr error
	accepted := 0
	for _, stream := range streams {
		ps := byStream[stream]
		cfg := s.Put
		cfg.StreamName, cfg.StreamARN, cfg.Progress = stream, "", nil
		w, err := streamput.New(s.Kinesis, cfg)
		if err != nil {
			return ans, err
		}
		entries := make([]streamput.Entry, len(ps))
		for k, p := range ps {
			entries[k] = p.entry
		}
		outcomes, err := w.PutEach(ctx, entries)
		if err != nil && callErr == nil {
			callErr = err
		}
		for k, p := range ps {
			res := &ans.Records[p.index]
			if k >= len(outcomes) { // PutEach refused the entries before sending any
				res.ErrorCode, res.ErrorMessage, res.Retryable = "CallFailed", fmt.Sprint(err), true
				continue
			}
			o := outcomes[k]
			if o.Accepted() {
				res.SequenceNumber, res.ShardId = o.SequenceNumber, o.ShardID
				accepted++
				continue
			}
			res.ErrorCode, res.ErrorMessage, res.Retryable = o.Code, o.Message, true
		}
	}
	for _, r := range ans.Records {
		if r.ErrorCode != "" {
			ans.FailedRecordCount++
		}
	}
	if callErr != nil && accepted == 0 {
		return ans, callErr
	}
	return ans, nil
}

// withDataset writes `"_dataset":"ds"` first into a valid record object that has none.
func withDataset(data []byte, ds string) []byte {
	body := bytes.TrimLeft(data, " \t\r\n")[1:] // after '{'
	name, _ := json.Marshal(ds)
	out := make([]byte, 0, len(data)+len(record.DatasetField)+len(name)+5)
	out = append(out, `{"`+record.DatasetField+`":`...)
	out = append(out, name...)
	if rest := bytes.TrimLeft(body, " \t\r\n"); len(rest) > 0 && rest[0] != '}' {
		out = append(out, ',')
	}
	return append(out, body...)
}

// partitionKey keeps each key (the contract's deduplication key) on one shard, in order, as a
// producer keyed on it would; records of a contract without a key spread by their content.
func partitionKey(b *record.Batch, dataset string, data []byte) string {
	var t *record.Table
	for _, tt := range b.Tables() {
		if tt.Contract.Name == dataset {
			t = tt
		}
	}
	var key strings.Builder
	if t != nil && t.Len() > 0 && len(t.Contract.Key) > 0 {
		row := t.Row(t.Len() - 1)
		for n, idx := range t.Contract.Key {
			if n > 0 {
				key.WriteByte('|')
			}
			v, f := row[idx], t.Contract.Fields[idx]
			switch {
			case !v.Set:
			case f.Kind == contract.String || f.Kind == contract.Enum:
				key.Write(v.Str)
			case f.Kind == contract.Float || f.Kind == contract.Double:
				key.WriteString(strconv.FormatFloat(v.Float, 'g', -1, 64))
			default:
				key.WriteString(strconv.FormatInt(v.Int, 10))
			}
		}
	}
	if k := key.String(); k != "" && len(k) <= streamput.MaxPartitionKey && strings.Trim(k, "|") != "" {
		return k
	}
	h := fnv.New64a()
	h.Write(data)
	return strconv.FormatUint(h.Sum64(), 16)
}

// datasets are the datasets events may be posted to: all but the change streams.
func (s *Service) datasets() []string {
	var out []string
	for name, c := range s.Contracts {
		if !cdc.IsChangeStream(c) {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func failure(status int, format string, a ...any) Response {
	return respond(status, Answer{Error: fmt.Sprintf(format, a...)})
}

func respond(status int, a Answer) Response {
	if a.Records == nil {
		a.Records = []Result{}
	}
	b, err := json.Marshal(a)
	if err != nil {
		return Response{Status: http.StatusInternalServerError, Body: []byte(`{"Error":"the answer could not be encoded"}`)}
	}
	return Response{Status: status, Body: b}
}
