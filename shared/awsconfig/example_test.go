package awsconfig_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"

	"github.com/sluicelake/sluice/shared/awsconfig"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
)

// A function's main.go builds its clients once, at init. With AWS_ENDPOINT_URL_S3 set
// (locally) the client talks path-style to the stand-in; unset, to S3.
func Example() {
	ctx := context.Background()
	cfg, err := awsconfig.Load(ctx)
	if err != nil {
		log.Fatal(err)
	}
	cleansed := s3store.New(awsconfig.NewS3Client(cfg), "sluice-cleansed")
	_ = cleansed
}

// A hand-made client of a JSON 1.1 API: here Glue, played by a loopback server that knows no
// table. The refusal comes back as an *APIError whose Type a caller can branch on.
func ExampleJSONClient_Call() {
	glue := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"__type":"com.amazonaws.glue#EntityNotFoundException","Message":"no table for %s"}`, r.Header.Get("X-Amz-Target"))
	}))
	defer glue.Close()

	cfg := aws.Config{Region: "eu-west-1", Credentials: credentials.NewStaticCredentialsProvider("key", "secret", "")}
	getenv := func(name string) string {
		if name == "AWS_ENDPOINT_URL_GLUE" {
			return glue.URL
		}
		return ""
	}
	api := &awsconfig.JSONClient{
		Service:      "Glue",
		Endpoint:     awsconfig.ServiceEndpoint(getenv, "GLUE", "glue", cfg.Region),
		TargetPrefix: "AWSGlue",
		Sign:         awsconfig.Signer(cfg.Credentials, "glue", cfg.Region),
		HTTP:         cfg.HTTPClient,
	}
	var out struct{ Table struct{ VersionId string } }
	err := api.Call(context.Background(), "GetTable", map[string]string{"DatabaseName": "lake", "Name": "clicks"}, &out)
	fmt.Println(awsconfig.IsAPIError(err, "EntityNotFoundException"))
	fmt.Println(err)
	// Output:
	// true
	// Glue GetTable answered 400 Bad Request: EntityNotFoundException: no table for AWSGlue.GetTable
}
