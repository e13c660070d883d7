package awsconfig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// maxAnswer bounds what Call reads of an answer: Glue's largest table descriptions are well
// under it, and a stand-in that streams without end cannot exhaust a function's memory.
const maxAnswer = 8 << 20

// maxErrorText bounds how much of an answer that is not JSON an APIError quotes: enough for a
// proxy's or a stand-in's message, not a whole HTML page in a log line.
const maxErrorText = 2 << 10

// JSONClient calls an AWS JSON 1.1 API (Glue, Secrets Manager, ...) by hand: the few calls a
// function makes of such a service do not justify linking the service's SDK module, which
// adds megabytes to every binary that imports it.
type JSONClient struct {
	// Service names the service in errors, e.g. "Glue" or "Secrets Manager".
	Service string
	// Endpoint is the service's URL, e.g. https://glue.eu-west-1.amazonaws.com (see
	// ServiceEndpoint).
	Endpoint string
	// TargetPrefix goes before the action in X-Amz-Target, e.g. "AWSGlue" or "secretsmanager".
	TargetPrefix string
	// Sign signs a request with its body, e.g. Signer(cfg.Credentials, "glue", region); nil
	// sends it unsigned.
	Sign func(r *http.Request, body []byte) error
	// HTTP sends requests; nil means http.DefaultClient.
	HTTP aws.HTTPClient
}

// ServiceEndpoint is where the SDK would send a service's calls: AWS_ENDPOINT_URL_<envSuffix>
// (e.g. GLUE, SECRETS_MANAGER), else AWS_ENDPOINT_URL, else https://<host>.<region>.amazonaws.com.
// A hand-made client that resolves its endpoint this way goes to the same local stand-in as
// the SDK clients beside it.
func ServiceEndpoint(getenv func(string) string, envSuffix, host, region string) string {
	for _, name := range []string{"AWS_ENDPOINT_URL_" + envSuffix, "AWS_ENDPOINT_URL"} {
		if v := getenv(name); v != "" {
			return v
		}
	}
	return "https://" + host + "." + region + ".amazonaws.com"
}

// APIError is an answer of an AWS JSON API other than 200. Type is the error's short name
// (e.g. EntityNotFoundException), for callers to tell the refusals they handle from the rest
// with errors.As.
type APIError struct {
	Service, Action string
	Status          int
	Type            string
	// Message is the service's message or, when the answer is not JSON, its text.
	Message string
}

func (e *APIError) Error() string {
	s := fmt.Sprintf("%s %s answered %d %s", e.Service, e.Action, e.Status, http.StatusText(e.Status))
	if e.Type != "" {
		s += ": " + e.Type
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Call sends action with in as its JSON body and decodes the answer into out (unless out is
// nil). An answer other than 200 is an *APIError.
func (c *JSONClient) Call(ctx context.Context, action string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("%s %s: encode the request: %w", c.Service, action, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.Endpoint, "/")+"/", bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("%s endpoint %q: %w (check the AWS_ENDPOINT_URL variables)", c.Service, c.Endpoint, err)
	}
	req.Header.Set("Content-Type", "application/x-amz-json-1.1")
	req.Header.Set("X-Amz-Target", c.TargetPrefix+"."+action)
	if c.Sign != nil {
		if err := c.Sign(req, body); err != nil {
			return err
		}
	}
	var client aws.HTTPClient = http.DefaultClient
	if c.HTTP != nil {
		client = c.HTTP
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", c.Service, action, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return fmt.Errorf("%s %s: read the answer: %w", c.Service, action, err)
	}
	if resp.StatusCode != http.StatusOK {
		return c.apiError(action, resp, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: the answer is not JSON (is the endpoint %s the service?): %w", c.Service, action, c.Endpoint, err)
		}
	}
	return nil
}

func (c *JSONClient) apiError(action string, resp *http.Response, data []byte) *APIError {
	e := &APIError{Service: c.Service, Action: action, Status: resp.StatusCode}
	var body struct {
		Type     string `json:"__type"`
		Message  string `json:"message"`
		Message2 string `json:"Message"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		// A proxy's or a stand-in's page: its text is all there is to go on.
		text := bytes.TrimSpace(data)
		if len(text) > maxErrorText {
			text = append(text[:maxErrorText:maxErrorText], "…"...)
		}
		e.Message = string(text)
	}
	e.Message += body.Message + body.Message2
	e.Type = errorType(body.Type, resp.Header.Get("X-Amzn-ErrorType"))
	return e
}

// errorType is the short name of an error type as the JSON protocol sends it, in the body's
// __type ("com.amazonaws.glue#EntityNotFoundException") or in X-Amzn-ErrorType
// ("EntityNotFoundException:http://internal.amazon.com/...").
func errorType(field, header string) string {
	typ := field
	if typ == "" {
		typ = header
	}
	if i := strings.LastIndex(typ, "#"); i >= 0 {
		typ = typ[i+1:]
	}
	typ, _, _ = strings.Cut(typ, ":")
	return typ
}

// IsAPIError reports whether err is, or wraps, an *APIError of type typ.
func IsAPIError(err error, typ string) bool {
	var e *APIError
	return errors.As(err, &e) && e.Type == typ
}
