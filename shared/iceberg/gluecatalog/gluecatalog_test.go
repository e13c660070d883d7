package gluecatalog_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/glue"
	"github.com/aws/aws-sdk-go-v2/service/glue/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/shared/iceberg"
	"github.com/sluicelake/sluice/shared/iceberg/catalogtest"
	"github.com/sluicelake/sluice/shared/iceberg/gluecatalog"
	"github.com/sluicelake/sluice/shared/objectstore"
	"github.com/sluicelake/sluice/shared/objectstore/s3store"
	"github.com/sluicelake/sluice/shared/objectstore/s3store/s3test"
)

func glueClient(endpoint string) *glue.Client {
	return glue.NewFromConfig(aws.Config{Region: s3test.Region, HTTPClient: awshttp.NewBuildableClient(),
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, "")},
		func(o *glue.Options) { o.BaseEndpoint = aws.String(endpoint) })
}

// versionCheck sits in front of moto's Glue and refuses an UpdateTable whose VersionId is not
// the table's current version, with ConcurrentModificationException, as AWS Glue does
// (UpdateTable's VersionId: "the version ID at which to update the table contents"). moto
// 5.2.1 accepts any VersionId, so without this the conflict tests would prove nothing about
// the adapter; what only AWS can confirm is the README's to say.
type versionCheck struct {
	mu    sync.Mutex
	next  http.Handler
	moto  *glue.Client
	fails int
}

func (v *versionCheck) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	target := r.Header.Get("X-Amz-Target")
	if target != "AWSGlue.UpdateTable" && target != "AWSGlue.CreateTable" {
		v.next.ServeHTTP(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	v.mu.Lock()
	defer v.mu.Unlock()
	if target == "AWSGlue.UpdateTable" {
		var in struct {
			DatabaseName string
			VersionId    *string
			TableInput   struct{ Name string }
		}
		if err := json.Unmarshal(body, &in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		cur, err := v.moto.GetTable(r.Context(), &glue.GetTableInput{DatabaseName: &in.DatabaseName, Name: &in.TableInput.Name})
		if err == nil && in.VersionId != nil && aws.ToString(cur.Table.VersionId) != *in.VersionId {
			v.fails++
			w.Header().Set("Content-Type", "application/x-amz-json-1.1")
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"__type":"ConcurrentModificationException","Message":"table version is %s, not %s"}`, aws.ToString(cur.Table.VersionId), *in.VersionId)
			return
		}
	}
	v.next.ServeHTTP(w, r)
}

// catalog is the adapter under test, pointed at endpoint as a function would be.
func catalog(endpoint string) *gluecatalog.Catalog {
	cfg := aws.Config{Region: s3test.Region, HTTPClient: awshttp.NewBuildableClient(),
		Credentials: credentials.NewStaticCredentialsProvider(s3test.AccessKey, s3test.SecretKey, "")}
	return gluecatalog.New(cfg, "lake", func(name string) string {
		if name == "AWS_ENDPOINT_URL_GLUE" {
			return endpoint
		}
		return ""
	})
}

// startGlue runs moto with its Glue behind versionCheck, with database lake created. The SDK
// client it returns (test code only) reads what the adapter wrote; the adapter goes to url.
func startGlue(t *testing.T) (*glue.Client, *s3.Client, *versionCheck, string) {
	s3c, endpoint := s3test.StartMoto(t)
	u, _ := url.Parse(endpoint)
	vc := &versionCheck{next: httputil.NewSingleHostReverseProxy(u), moto: glueClient(endpoint)}
	srv := httptest.NewServer(vc)
	t.Cleanup(srv.Close)
	client := glueClient(srv.URL)
	if _, err := client.CreateDatabase(context.Background(), &glue.CreateDatabaseInput{DatabaseInput: &types.DatabaseInput{Name: aws.String("lake")}}); err != nil {
		t.Fatal(err)
	}
	return client, s3c, vc, srv.URL
}

func TestGlueCatalogConformance(t *testing.T) {
	var checks []*versionCheck
	catalogtest.Run(t, func(t *testing.T) (iceberg.Catalog, objectstore.Store) {
		_, s3c, vc, url := startGlue(t)
		checks = append(checks, vc)
		bucket := s3test.CreateBucket(t, s3c, "curated")
		return catalog(url), s3store.New(s3c, bucket)
	})
	fails := 0
	for _, vc := range checks {
		fails += vc.fails
	}
	if fails == 0 {
		t.Error("no UpdateTable was refused for a stale VersionId: the concurrent tests did not exercise Glue's version check")
	}
}

// A table as Glue holds it: what Athena needs to read it as Iceberg.
func TestGlueTableIsIceberg(t *testing.T) {
	client, s3c, _, url := startGlue(t)
	bucket := s3test.CreateBucket(t, s3c, "curated")
	store := s3store.New(s3c, bucket)
	tbl := &iceberg.Table{Name: "clicks", Store: store, Catalog: catalog(url), Root: "clicks"}
	s := &iceberg.Schema{Type: "struct", Fields: []iceberg.Field{{ID: 1, Name: "ts", Required: true, Type: "timestamptz"}, {ID: 2, Name: "n", Type: "long", Doc: "a counter"},
		{ID: 3, Name: "tags", Type: &iceberg.MapType{Type: "map", KeyID: 4, Key: "string", ValueID: 5, Value: "string"}}}}
	m, err := iceberg.NewMetadata(tbl.Location(), s, 5, "ts", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := tbl.Create(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	out, err := client.GetTable(context.Background(), &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("clicks")})
	if err != nil {
		t.Fatal(err)
	}
	g := out.Table
	if g.Parameters["table_type"] != "ICEBERG" || g.Parameters["metadata_location"] != st.Pointer.Location || !strings.HasSuffix(st.Pointer.Location, ".metadata.json") {
		t.Errorf("Glue parameters %v, want table_type ICEBERG and metadata_location %s", g.Parameters, st.Pointer.Location)
	}
	if aws.ToString(g.StorageDescriptor.Location) != "s3://"+bucket+"/clicks" {
		t.Errorf("Glue location %s, want s3://%s/clicks", aws.ToString(g.StorageDescriptor.Location), bucket)
	}
	var cols []string
	for _, c := range g.StorageDescriptor.Columns {
		cols = append(cols, aws.ToString(c.Name)+" "+aws.ToString(c.Type))
	}
	if got, want := strings.Join(cols, ", "), "ts timestamp, n bigint, tags map<string,string>"; got != want {
		t.Errorf("Glue columns %q, want %q", got, want)
	}
	// A commit records the previous metadata, as Iceberg's Glue catalog does.
	if _, err := tbl.Commit(context.Background(), func(context.Context, *iceberg.State) (*iceberg.Change, error) {
		return &iceberg.Change{Add: []iceberg.DataFile{{Path: tbl.Path("clicks/data/a.parquet"), Partition: map[string]int{"ts_hour": 1}, Records: 1, Size: 10}}}, nil
	}); err != nil {
		t.Fatal(err)
	}
	out, _ = client.GetTable(context.Background(), &glue.GetTableInput{DatabaseName: aws.String("lake"), Name: aws.String("clicks")})
	if out.Table.Parameters["previous_metadata_location"] != st.Pointer.Location {
		t.Errorf("previous_metadata_location %q, want %s", out.Table.Parameters["previous_metadata_location"], st.Pointer.Location)
	}
}

// A Glue table that is not Iceberg is refused with a message saying what to do.
func TestGlueRefusesNonIcebergTable(t *testing.T) {
	client, _, _, url := startGlue(t)
	if _, err := client.CreateTable(context.Background(), &glue.CreateTableInput{DatabaseName: aws.String("lake"),
		TableInput: &types.TableInput{Name: aws.String("hive"), Parameters: map[string]string{"classification": "parquet"}}}); err != nil {
		t.Fatal(err)
	}
	_, err := catalog(url).Load(context.Background(), "hive")
	if err == nil || !strings.Contains(err.Error(), "not an Iceberg table") {
		t.Fatalf("Load of a Hive table: %v, want an error saying it is not Iceberg", err)
	}
}

// A Glue that refuses the call: the error names the permission and keeps Glue's message.
func TestGlueErrorSaysWhatToGrant(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-amz-json-1.1")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.glue#AccessDeniedException","Message":"not authorized to perform glue:GetTable"}`)
	}))
	defer srv.Close()
	_, err := catalog(srv.URL).Load(context.Background(), "clicks")
	if err == nil || !strings.Contains(err.Error(), "the role needs glue:GetTable") || !strings.Contains(err.Error(), "AccessDeniedException") {
		t.Fatalf("Load refused: %v, want the permission to grant and Glue's error", err)
	}
}
