package lakehost_test

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/lakehost"
	"github.com/sluicelake/sluice/shared/tooltest"
	"github.com/sluicelake/sluice/shared/zone"
)

// templatePath is the template `make synth` writes from this checkout, relative to the working
// directory as `make local` passes it. Without it the test cannot run: under CI=true that
// fails, elsewhere it skips saying how to make it.
func templatePath(t *testing.T) string {
	t.Helper()
	return tooltest.File(t, filepath.Join("..", "..", "infra", "cdk.out", "sluice-dev.template.json"),
		"run `make synth` in the repository root")
}

// logBuffer collects the functions' output from several goroutines.
type logBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestEnforcedLocalRun runs the whole lake under the synthesized template's policies (stream
// and file drops through ingest, validate, promote and lineage, all built binaries) and
// expects not one AccessDenied; objects of the SSE-KMS buckets carry ETags that are not MD5s.
func TestEnforcedLocalRun(t *testing.T) {
	tpl := templatePath(t)
	bin := buildAll(t, "ingest", "validate", "promote", "lineage", "maintain")
	logs := &logBuffer{}
	lake := startLake(t, lakehost.Config{BinDir: bin, Template: tpl, Logs: logs})
	dir := lake.Dir()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	p := &produced{good: map[string][]byte{}, bad: map[string]int{}}
	produce(t, lake, 300, 11, p)
	files, err := lakehost.SampleFiles(40, 0.1, 11)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if err := lake.DropFile(ctx, f.Dataset, f.Name, f.Body); err != nil {
			t.Fatal(err)
		}
	}
	if err := lake.WaitIdle(ctx); err != nil {
		t.Fatal(err)
	}
	// Table maintenance, under the maintain role's policy: compaction, expiry and orphan
	// removal of the curated tables the run made, and the record of each.
	if out, err := lake.Maintain(ctx); err != nil {
		t.Errorf("table maintenance: %v: %s", err, out)
	} else if !strings.Contains(string(out), `"dataset":"customers"`) {
		t.Errorf("table maintenance recorded %s: want a record of customers", out)
	}
	// Under the template's own policies nothing is denied: lineage and validate may list the
	// buckets they read, so keys gone before they read them answer 404 (done), not 403.
	for _, d := range lake.Denials() {
		t.Errorf("denied: %s", d)
	}
	if st := lake.Mapping.Stats(); st.DLQRecords != 0 || st.Records != int64(p.sent) {
		t.Errorf("mapping %+v: want all %d records processed, none to the DLQ", st, p.sent)
	}
	letters, _ := filepath.Glob(filepath.Join(lake.DLQDir, "s3-events", "*.json"))
	for _, f := range letters {
		var dl struct {
			Subscription string
			Event        struct {
				Records []struct {
					S3 struct {
						Bucket struct{ Name string }
						Object struct{ Key string }
					}
				}
			}
		}
		b, _ := os.ReadFile(f)
		if err := json.Unmarshal(b, &dl); err != nil || len(dl.Event.Records) != 1 {
			t.Fatalf("dead letter %s: %v", f, err)
		}
		o := dl.Event.Records[0].S3
		t.Errorf("S3 event of s3://%s/%s dead-lettered for %s", o.Bucket.Name, o.Object.Key, dl.Subscription)
	}
	if n := lake.Events.DeadLettered.Load(); n != int64(len(letters)) {
		t.Errorf("%d S3 events dead-lettered, %d dead letters", n, len(letters))
	}

	// Every zone the pipeline writes has objects, and in the SSE-KMS buckets (all of them in
	// the template) the ETag clients see is not the MD5 of the file on disk.
	for _, z := range []zone.Zone{zone.Cleansed, zone.Curated, zone.Quarantine, "lineage"} {
		bucket := lakehost.Buckets[z]
		out, err := lake.S3Client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{Bucket: &bucket})
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Contents) == 0 {
			t.Errorf("nothing in %s", bucket)
			continue
		}
		o := out.Contents[0]
		body, err := os.ReadFile(filepath.Join(dir, bucket, aws.ToString(o.Key)))
		if err != nil {
			t.Fatal(err)
		}
		sum := md5.Sum(body)
		if etag := strings.Trim(aws.ToString(o.ETag), `"`); etag == hex.EncodeToString(sum[:]) || len(etag) != 32 {
			t.Errorf("%s/%s: ETag %s under SSE-KMS, want 32 hex digits other than the MD5", bucket, aws.ToString(o.Key), etag)
		}
	}
	if t.Failed() {
		tail := logs.String()
		t.Logf("functions' log (last 4000 bytes):\n%s", tail[max(0, len(tail)-4000):])
	}
}

// withoutPermission writes a copy of the template in which function fn's role no longer has
// action on the objects of the bucket its environment variable bucketVar names (on anything,
// when bucketVar is empty).
func withoutPermission(t *testing.T, src, fn, bucketVar, action string) string {
	t.Helper()
	raw, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var tpl map[string]any
	if err := json.Unmarshal(raw, &tpl); err != nil {
		t.Fatal(err)
	}
	res := tpl["Resources"].(map[string]any)
	prefix := strings.ToUpper(fn[:1]) + fn[1:]
	var role, bucket string
	for id, r := range res {
		r := r.(map[string]any)
		if r["Type"] != "AWS::Lambda::Function" || !strings.HasPrefix(id, prefix+"Function") {
			continue
		}
		props := r["Properties"].(map[string]any)
		role = props["Role"].(map[string]any)["Fn::GetAtt"].([]any)[0].(string)
		bucket = "*"
		if bucketVar != "" {
			bucket = props["Environment"].(map[string]any)["Variables"].(map[string]any)[bucketVar].(map[string]any)["Ref"].(string)
		}
	}
	if role == "" || bucket == "" {
		t.Fatalf("no function %s with %s in %s", fn, bucketVar, src)
	}
	removed := false
	for _, r := range res {
		r := r.(map[string]any)
		if r["Type"] != "AWS::IAM::Policy" {
			continue
		}
		props := r["Properties"].(map[string]any)
		if b, _ := json.Marshal(props["Roles"]); !strings.Contains(string(b), `"`+role+`"`) {
			continue
		}
		doc := props["PolicyDocument"].(map[string]any)
		var kept []any
		for _, s := range doc["Statement"].([]any) {
			st := s.(map[string]any)
			actions, _ := st["Action"].([]any)
			resources, ok := st["Resource"].([]any)
			if !ok {
				resources = []any{st["Resource"]}
			}
			if !slices.Contains(actions, any(action)) {
				kept = append(kept, st)
				continue
			}
			// Split the statement: the bucket's objects lose the action, the rest keep it.
			var mine, others []any
			for _, r := range resources {
				if b, _ := json.Marshal(r); bucket == "*" || strings.Contains(string(b), `"`+bucket+`"`) {
					mine = append(mine, r)
				} else {
					others = append(others, r)
				}
			}
			if mine == nil {
				kept = append(kept, st)
				continue
			}
			removed = true
			if others != nil {
				kept = append(kept, map[string]any{"Effect": st["Effect"], "Action": actions, "Resource": others})
			}
			var rest []any
			for _, a := range actions {
				if a != action {
					rest = append(rest, a)
				}
			}
			if rest != nil {
				kept = append(kept, map[string]any{"Effect": st["Effect"], "Action": rest, "Resource": mine})
			}
		}
		doc["Statement"] = kept
	}
	if !removed {
		t.Fatalf("%s's role has no %s on %s to remove", fn, action, bucket)
	}
	out, _ := json.Marshal(tpl)
	path := filepath.Join(t.TempDir(), "template.json")
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRemovedPermissionIsDenied takes s3:PutObject on the cleansed zone away from ingest in a
// copy of the template: ingest's writes there are refused with AccessDenied naming the
// function, action and object, nothing reaches the zone, and the records go back for retries.
func TestRemovedPermissionIsDenied(t *testing.T) {
	tpl := withoutPermission(t, templatePath(t), "ingest", "SLUICE_CLEANSED_BUCKET", "s3:PutObject")
	bin := buildFunctions(t)
	logs := &logBuffer{}
	lake := startLake(t, lakehost.Config{BinDir: bin, BatchSize: 100, Template: tpl, Logs: logs})
	dir := lake.Dir()

	p := &produced{good: map[string][]byte{}, bad: map[string]int{}}
	produce(t, lake, 100, 3, p)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st := lake.Mapping.Stats()
		if len(lake.Denials()) > 0 && st.Retries > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no denial and retry within 2 minutes: denials %v, mapping %+v", lake.Denials(), st)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, d := range lake.Denials() {
		if d.Function != "ingest" || d.Action != "s3:PutObject" || !strings.HasPrefix(d.Resource, "arn:aws:s3:::"+lakehost.Buckets[zone.Cleansed]+"/") || d.MissingKey {
			t.Errorf("denial %s: want ingest's s3:PutObject on a cleansed object", d)
		}
	}
	if st := lake.Mapping.Stats(); st.Records == int64(p.sent) {
		t.Errorf("every record was checkpointed although none could be written: %+v", st)
	}
	if !strings.Contains(logs.String(), "AccessDenied") {
		t.Errorf("ingest's log does not show the AccessDenied it got:\n%s", logs.String())
	}
	err := filepath.Walk(filepath.Join(dir, lakehost.Buckets[zone.Cleansed]), func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			t.Errorf("%s was written although ingest may not", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first denial: %s; mapping %+v", lake.Denials()[0], lake.Mapping.Stats())
}

// Lambda refuses a Kinesis event source mapping whose function's role cannot read the stream;
// so does the local host.
func TestStreamReadIsChecked(t *testing.T) {
	tpl := withoutPermission(t, templatePath(t), "ingest", "", "kinesis:GetRecords")
	bin := t.TempDir()
	// Never run: the check comes before any function starts.
	if err := os.MkdirAll(filepath.Join(bin, "ingest"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bin, "ingest", "bootstrap"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	lake, err := lakehost.Start(context.Background(), lakehost.Config{Dir: filepath.Join(t.TempDir(), "lake"), BinDir: bin, Template: tpl})
	if err == nil {
		lake.Close()
		t.Fatal("the lake started although ingest may not read the stream")
	}
	if !strings.Contains(err.Error(), "kinesis:GetRecords") || !strings.Contains(err.Error(), "stream/sluice-events") {
		t.Errorf("the error does not name the action and stream: %v", err)
	}
}
