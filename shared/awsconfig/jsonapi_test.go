package awsconfig_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicelake/sluice/shared/awsconfig"
)

var testCreds = credentials.NewStaticCredentialsProvider("test-key", "test-secret", "")

// verifySigV4 signs again, as AWS would on receipt, what the client said it signed, at the
// time it said, and compares: a signature over another body, service or region differs.
func verifySigV4(r *http.Request, body []byte, service, region string) error {
	auth := r.Header.Get("Authorization")
	_, signed, ok := strings.Cut(auth, "SignedHeaders=")
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 ") || !ok {
		return fmt.Errorf("no SigV4 Authorization header: %q", auth)
	}
	signed, _, _ = strings.Cut(signed, ",")
	at, err := time.Parse("20060102T150405Z", r.Header.Get("X-Amz-Date"))
	if err != nil {
		return fmt.Errorf("X-Amz-Date: %v", err)
	}
	again, _ := http.NewRequest(r.Method, "http://"+r.Host+r.URL.RequestURI(), bytes.NewReader(body))
	for _, h := range strings.Split(signed, ";") {
		if h != "host" && h != "content-length" {
			again.Header.Set(h, r.Header.Get(h))
		}
	}
	c, _ := testCreds.Retrieve(r.Context())
	sum := sha256.Sum256(body)
	if err := v4.NewSigner().SignHTTP(r.Context(), c, again, hex.EncodeToString(sum[:]), service, region, at); err != nil {
		return err
	}
	if want := again.Header.Get("Authorization"); want != auth {
		return fmt.Errorf("signature does not verify:\n got %s\nwant %s", auth, want)
	}
	return nil
}

func TestJSONClientSignsAndTargets(t *testing.T) {
	var failure error
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		switch {
		case r.Method != http.MethodPost || r.URL.Path != "/":
			failure = fmt.Errorf("%s %s, want POST /", r.Method, r.URL.Path)
		case r.Header.Get("Content-Type") != "application/x-amz-json-1.1":
			failure = fmt.Errorf("Content-Type %q", r.Header.Get("Content-Type"))
		case r.Header.Get("X-Amz-Target") != "AWSGlue.GetTable":
			failure = fmt.Errorf("X-Amz-Target %q, want AWSGlue.GetTable", r.Header.Get("X-Amz-Target"))
		case string(body) != `{"Name":"clicks"}`:
			failure = fmt.Errorf("body %s", body)
		default:
			failure = verifySigV4(r, body, "glue", "eu-west-1")
		}
		fmt.Fprint(w, `{"Table":{"Name":"clicks","VersionId":"7"}}`)
	}))
	defer srv.Close()
	c := &awsconfig.JSONClient{Service: "Glue", Endpoint: srv.URL + "/", TargetPrefix: "AWSGlue",
		Sign: awsconfig.Signer(testCreds, "glue", "eu-west-1"), HTTP: srv.Client()}
	var out struct {
		Table struct{ Name, VersionId string }
	}
	if err := c.Call(t.Context(), "GetTable", map[string]string{"Name": "clicks"}, &out); err != nil {
		t.Fatal(err)
	}
	if failure != nil {
		t.Fatal(failure)
	}
	if out.Table.VersionId != "7" {
		t.Fatalf("decoded %+v, want the server's VersionId 7", out)
	}
	// Signed for another region, the same request must not verify: the check above is real.
	c.Sign = awsconfig.Signer(testCreds, "glue", "us-east-1")
	if err := c.Call(t.Context(), "GetTable", map[string]string{"Name": "clicks"}, nil); err != nil {
		t.Fatal(err)
	}
	if failure == nil {
		t.Fatal("a request signed for us-east-1 verified as eu-west-1's")
	}
}

func TestJSONClientErrorTypes(t *testing.T) {
	for _, tc := range []struct {
		name, header, body    string
		status                int
		wantType, wantMessage string
	}{
		{name: "namespaced __type", status: 400, body: `{"__type":"com.amazonaws.glue#EntityNotFoundException","Message":"Table clicks not found."}`,
			wantType: "EntityNotFoundException", wantMessage: "Table clicks not found."},
		{name: "bare __type, lower-case message", status: 400, body: `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`,
			wantType: "ResourceNotFoundException", wantMessage: "Secrets Manager can't find the specified secret."},
		{name: "X-Amzn-ErrorType header", status: 403, header: "AccessDeniedException:http://internal.amazon.com/coral/com.amazon.coral.service/", body: `{"Message":"not authorized to perform glue:GetTable"}`,
			wantType: "AccessDeniedException", wantMessage: "not authorized to perform glue:GetTable"},
		{name: "not JSON", status: 502, body: "upstream connect error\n",
			wantType: "", wantMessage: "upstream connect error"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set("X-Amzn-ErrorType", tc.header)
				}
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			c := &awsconfig.JSONClient{Service: "Glue", Endpoint: srv.URL, TargetPrefix: "AWSGlue"}
			err := fmt.Errorf("wrapped: %w", c.Call(t.Context(), "GetTable", struct{}{}, nil))
			var e *awsconfig.APIError
			if !errors.As(err, &e) {
				t.Fatalf("%v is not an *APIError", err)
			}
			if e.Service != "Glue" || e.Action != "GetTable" || e.Status != tc.status || e.Type != tc.wantType || e.Message != tc.wantMessage {
				t.Fatalf("%+v, want status %d type %q message %q", e, tc.status, tc.wantType, tc.wantMessage)
			}
			for _, part := range []string{"Glue GetTable", fmt.Sprint(tc.status), tc.wantType, tc.wantMessage} {
				if !strings.Contains(err.Error(), part) {
					t.Errorf("error %q does not say %q", err, part)
				}
			}
			if tc.wantType != "" && (!awsconfig.IsAPIError(err, tc.wantType) || awsconfig.IsAPIError(err, "ThrottlingException")) {
				t.Errorf("IsAPIError does not tell %s from another type", tc.wantType)
			}
		})
	}
}

func TestJSONClientAnswerNotJSON(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<html>a captive portal</html>")
	}))
	defer srv.Close()
	c := &awsconfig.JSONClient{Service: "Secrets Manager", Endpoint: srv.URL, TargetPrefix: "secretsmanager"}
	var out struct{ SecretString string }
	err := c.Call(t.Context(), "GetSecretValue", map[string]string{"SecretId": "s"}, &out)
	if err == nil || !strings.Contains(err.Error(), "Secrets Manager GetSecretValue: the answer is not JSON") {
		t.Fatalf("a 200 with an HTML body: %v, want an error saying the answer is not JSON", err)
	}
	var e *awsconfig.APIError
	if errors.As(err, &e) {
		t.Fatalf("a 200 answer was reported as the service's refusal: %+v", e)
	}
}

func TestServiceEndpoint(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	for _, tc := range []struct {
		env  map[string]string
		want string
	}{
		{nil, "https://secretsmanager.eu-west-1.amazonaws.com"},
		{map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000"}, "http://127.0.0.1:5000"},
		{map[string]string{"AWS_ENDPOINT_URL": "http://127.0.0.1:5000", "AWS_ENDPOINT_URL_SECRETS_MANAGER": "http://127.0.0.1:6000"}, "http://127.0.0.1:6000"},
		{map[string]string{"AWS_ENDPOINT_URL_GLUE": "http://127.0.0.1:7000"}, "https://secretsmanager.eu-west-1.amazonaws.com"},
	} {
		if got := awsconfig.ServiceEndpoint(env(tc.env), "SECRETS_MANAGER", "secretsmanager", "eu-west-1"); got != tc.want {
			t.Errorf("%v: %s, want %s", tc.env, got, tc.want)
		}
	}
}

// The zero Sign and HTTP still reach the service, unsigned, through http.DefaultClient.
func TestJSONClientUnsigned(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `{"Authorization":%q}`, r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	var out struct{ Authorization *string }
	if err := (&awsconfig.JSONClient{Service: "Glue", Endpoint: srv.URL, TargetPrefix: "AWSGlue"}).Call(t.Context(), "GetDatabases", struct{}{}, &out); err != nil {
		t.Fatal(err)
	}
	if out.Authorization == nil || *out.Authorization != "" {
		t.Fatalf("an unsigned client sent Authorization %q", aws.ToString(out.Authorization))
	}
}
