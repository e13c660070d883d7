package openlineage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// LineagePath is where Marquez and most OpenLineage consumers take events.
const LineagePath = "/api/v1/lineage"

// Config configures a Client. Zero values take the defaults noted.
type Config struct {
	// BaseURL is the consumer's root, e.g. http://marquez:5000; events go
	// to BaseURL + LineagePath.
	BaseURL string
	// URL, when set, is the full endpoint and BaseURL is ignored.
	URL string
	// APIKey, when set, is sent as "Authorization: Bearer <key>".
	APIKey string
	// Timeout bounds one attempt (default 5s).
	Timeout time.Duration
	// MaxAttempts bounds attempts per event, the first included (default 3).
	MaxAttempts int
	// Backoff is the wait before the first retry, doubled each retry up to
	// MaxBackoff (defaults 200ms and 5s). A 429's Retry-After, when given in
	// seconds, replaces it up to MaxBackoff.
	Backoff, MaxBackoff time.Duration
	// HTTPClient defaults to a client of its own.
	HTTPClient *http.Client
}

// Client posts events to one OpenLineage endpoint. It is safe for
// concurrent use.
type Client struct {
	cfg      Config
	endpoint string
}

// NewClient checks cfg and fills its defaults.
func NewClient(cfg Config) (*Client, error) {
	endpoint := cfg.URL
	if endpoint == "" {
		if cfg.BaseURL == "" {
			return nil, errors.New("openlineage: set Config.BaseURL (e.g. http://marquez:5000) or Config.URL")
		}
		endpoint = strings.TrimRight(cfg.BaseURL, "/") + LineagePath
	}
	if !strings.HasPrefix(endpoint, "http://") && !strings.HasPrefix(endpoint, "https://") {
		return nil, fmt.Errorf("openlineage: endpoint %q must start with http:// or https://", endpoint)
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 5 * time.Second
	}
	if cfg.MaxAttempts <= 0 {
		cfg.MaxAttempts = 3
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 200 * time.Millisecond
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = 5 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	return &Client{cfg: cfg, endpoint: endpoint}, nil
}

// Endpoint is the URL events are posted to.
func (c *Client) Endpoint() string { return c.endpoint }

// Emit validates ev and posts it.
func (c *Client) Emit(ctx context.Context, ev RunEvent) error {
	if err := ev.Validate(); err != nil {
		return fmt.Errorf("openlineage: event not sent: %w", err)
	}
	body, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("openlineage: event not sent: %w", err)
	}
	return c.EmitJSON(ctx, body)
}

// EmitJSON posts an already encoded event, retrying on network errors, 429
// and 5xx. Other statuses fail at once with an *HTTPError.
func (c *Client) EmitJSON(ctx context.Context, event []byte) error {
	wait := c.cfg.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		retryAfter, err := c.post(ctx, event)
		if err == nil {
			return nil
		}
		last = err
		var he *HTTPError
		if errors.As(err, &he) {
			he.Attempts = attempt
			if !he.Retryable() {
				return err
			}
		}
		if attempt >= c.cfg.MaxAttempts || ctx.Err() != nil {
			if he == nil {
				return fmt.Errorf("openlineage: POST %s failed after %d attempt(s): %w", c.endpoint, attempt, last)
			}
			return last
		}
		d := wait
		if retryAfter > 0 {
			d = retryAfter
		}
		d = min(d, c.cfg.MaxBackoff)
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("openlineage: POST %s gave up waiting to retry: %w (last error: %v)", c.endpoint, ctx.Err(), last)
		case <-t.C:
		}
		wait = min(wait*2, c.cfg.MaxBackoff)
	}
}

func (c *Client) post(ctx context.Context, event []byte) (retryAfter time.Duration, err error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.endpoint, bytes.NewReader(event))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBodyQuote+1))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil
	}
	if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
		retryAfter = time.Duration(s) * time.Second
	}
	return retryAfter, &HTTPError{Endpoint: c.endpoint, StatusCode: resp.StatusCode, Body: clip(string(body))}
}

// maxBodyQuote bounds how much of a response body an error quotes.
const maxBodyQuote = 512

func clip(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxBodyQuote {
		return s[:maxBodyQuote] + "…"
	}
	return s
}

// HTTPError is a non-2xx answer from the endpoint.
type HTTPError struct {
	Endpoint   string
	StatusCode int
	Body       string // the response body, clipped
	Attempts   int
}

// Retryable reports whether the status is worth another attempt.
func (e *HTTPError) Retryable() bool {
	return e.StatusCode == http.StatusTooManyRequests || e.StatusCode >= 500
}

func (e *HTTPError) Error() string {
	hint := "the endpoint rejected the event: check it against the OpenLineage spec and the endpoint's logs"
	switch {
	case e.StatusCode == http.StatusUnauthorized || e.StatusCode == http.StatusForbidden:
		hint = "check the API key (sent as Authorization: Bearer)"
	case e.StatusCode == http.StatusNotFound:
		hint = "check the endpoint URL (Marquez takes " + LineagePath + ")"
	case e.Retryable():
		hint = "the endpoint is failing or overloaded; retries are exhausted"
	}
	return fmt.Sprintf("openlineage: POST %s: %d %s after %d attempt(s): %q; %s",
		e.Endpoint, e.StatusCode, http.StatusText(e.StatusCode), e.Attempts, e.Body, hint)
}
