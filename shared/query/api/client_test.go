package api_test

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicelake/sluice/shared/query"
	"github.com/sluicelake/sluice/shared/query/api"
)

// The deployed API uses IAM auth: requests carry a SigV4 signature for execute-api, and API
// Gateway's own refusals ({"message": ...}) come back as an APIError.
func TestSigV4AndGatewayErrors(t *testing.T) {
	var auth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"Forbidden"}`))
	}))
	t.Cleanup(srv.Close)
	c := &api.Client{BaseURL: srv.URL, Sign: api.SigV4(credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""), "eu-west-1")}
	_, err := c.Run(t.Context(), &query.Request{Dataset: "user_events"})
	var ae *api.APIError
	if !errors.As(err, &ae) || ae.Status != 403 || ae.Message != "Forbidden" {
		t.Fatalf("got %v", err)
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/execute-api/aws4_request") {
		t.Errorf("Authorization %q", auth)
	}
}

func ExampleWriteTable() {
	cols := []query.Column{{Name: "event_type", Type: "varchar"}, {Name: "events", Type: "bigint"}, {Name: "revenue", Type: "double"}}
	rows := [][]any{{"purchase", int64(1200), 35120.5}, {"click", int64(98000), nil}}
	api.WriteTable(os.Stdout, cols, rows)
	// Output:
	// event_type  events  revenue
	// purchase    1200    35120.5
	// click       98000   NULL
}
