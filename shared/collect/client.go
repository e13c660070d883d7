package collect

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/sluicelake/sluice/shared/record"
)

// Client posts records to an events API: the local host's or the deployed one (then with Sign
// set to SigV4, e.g. awsconfig.Signer(creds, "execute-api", region)).
type Client struct {
	// BaseURL is the API's URL, e.g. http://127.0.0.1:8088 or https://abc.execute-api.eu-west-1.amazonaws.com.
	BaseURL string
	// HTTP defaults to http.DefaultClient.
	HTTP *http.Client
	// Sign, when set, signs each request.
	Sign func(r *http.Request, body []byte) error
}

// APIError is an answer other than 200: a request the API refused whole, or a stream failure
// (503). Answer holds the per-record results when the API gave them.
type APIError struct {
	Status int
	Answer Answer
}

func (e *APIError) Error() string {
	msg := e.Answer.Error
	if msg == "" {
		msg = http.StatusText(e.Status)
	}
	return fmt.Sprintf("events API answered %d: %s", e.Status, msg)
}

// Post sends records as JSON lines to /events/{dataset}, or /events when dataset is "" (each
// record names its own in `_dataset`), and returns the per-record answer.
func (c *Client) Post(ctx context.Context, dataset string, recs [][]byte) (Answer, error) {
	path := "/events"
	if dataset != "" {
		path += "/" + url.PathEscape(dataset)
	}
	body := bytes.Join(recs, []byte("\n"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(c.BaseURL, "/")+path, bytes.NewReader(body))
	if err != nil {
		return Answer{}, err
	}
	req.Header.Set("Content-Type", "application/x-ndjson")
	if c.Sign != nil {
		if err := c.Sign(req, body); err != nil {
			return Answer{}, fmt.Errorf("sign the request: %w", err)
		}
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return Answer{}, fmt.Errorf("events API at %s: %w", c.BaseURL, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return Answer{}, err
	}
	var a Answer
	if err := json.Unmarshal(raw, &a); err != nil {
		// API Gateway's own answers ({"message":"Forbidden"}, say) are not an Answer.
		var gw struct{ Message string }
		json.Unmarshal(raw, &gw)
		a.Error = gw.Message
		if a.Error == "" {
			a.Error = string(raw)
		}
	}
	if resp.StatusCode != http.StatusOK {
		return a, &APIError{Status: resp.StatusCode, Answer: a}
	}
	if len(a.Records) != len(recs) {
		return a, fmt.Errorf("events API answered %d results for %d records", len(a.Records), len(recs))
	}
	return a, nil
}

// SendStats are a Sender's running totals.
type SendStats struct {
	Accepted, Rejected, Failed, Resent, Calls int
	// Codes counts records not accepted, by code.
	Codes   map[string]int
	Elapsed time.Duration
}

// Sender fills calls up to the API's limits, resends records the stream refused (Retryable) a
// bounded number of times with backoff, and counts what became of every record.
type Sender struct {
	Client  *Client
	Dataset string // "" posts to /events
	// MaxAttempts bounds the sends of one record; default 4.
	MaxAttempts int
	// Progress, if set, is called after every call with the running totals.
	Progress func(SendStats)

	batch [][]byte
	bytes int
	start time.Time
	stats SendStats
}

// Add queues a record and posts the queue when the next record would not fit in one call.
// Records go as JSON lines: a blank record is no line at all, so it is counted rejected here,
// as the API would (empty_record); line breaks, which valid JSON has only between tokens,
// become spaces.
func (s *Sender) Add(ctx context.Context, rec []byte) error {
	if s.start.IsZero() {
		s.start = time.Now()
	}
	if s.stats.Codes == nil {
		s.stats.Codes = map[string]int{}
	}
	if len(bytes.TrimSpace(rec)) == 0 {
		s.stats.Rejected++
		s.stats.Codes[string(record.Empty)]++
		return nil
	}
	if bytes.ContainsAny(rec, "\r\n") {
		rec = bytes.Clone(rec) // byte by byte: bytes.Map would mend invalid UTF-8 the API must see
		for i, b := range rec {
			if b == '\r' || b == '\n' {
				rec[i] = ' '
			}
		}
	}
	if len(s.batch) == MaxRecords || (len(s.batch) > 0 && s.bytes+len(rec)+1 > MaxBodyBytes) {
		if err := s.Flush(ctx); err != nil {
			return err
		}
	}
	s.batch = append(s.batch, rec)
	s.bytes += len(rec) + 1
	return nil
}

// Flush posts what is queued.
func (s *Sender) Flush(ctx context.Context) error {
	pending := s.batch
	s.batch, s.bytes = nil, 0
	attempts := s.MaxAttempts
	if attempts <= 0 {
		attempts = 4
	}
	if s.stats.Codes == nil {
		s.stats.Codes = map[string]int{}
	}
	delay := 100 * time.Millisecond
	for attempt := 1; len(pending) > 0; attempt++ {
		a, err := s.Client.Post(ctx, s.Dataset, pending)
		s.stats.Calls++
		if err != nil {
			var apiErr *APIError
			if !errors.As(err, &apiErr) || apiErr.Status != http.StatusServiceUnavailable || attempt >= attempts || len(a.Records) != len(pending) {
				s.stats.Failed += len(pending)
				s.stats.Elapsed = time.Since(s.start)
				return err
			}
		}
		var retry [][]byte
		for i, r := range a.Records {
			switch {
			case r.ErrorCode == "":
				s.stats.Accepted++
			case r.Retryable && attempt < attempts:
				retry = append(retry, pending[i])
			case r.Retryable:
				s.stats.Failed++
				s.stats.Codes[r.ErrorCode]++
			default:
				s.stats.Rejected++
				s.stats.Codes[r.ErrorCode]++
			}
		}
		s.stats.Resent += len(retry)
		s.stats.Elapsed = time.Since(s.start)
		if s.Progress != nil {
			s.Progress(s.stats)
		}
		if pending = retry; len(pending) > 0 {
			select {
			case <-ctx.Done():
				s.stats.Failed += len(pending)
				return ctx.Err()
			case <-time.After(delay):
			}
			delay = min(2*delay, 2*time.Second)
		}
	}
	return nil
}

// Stats returns the running totals.
func (s *Sender) Stats() SendStats { return s.stats }
