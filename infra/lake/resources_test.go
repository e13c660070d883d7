package lake_test

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/lake"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/summary"
)

// construct strips the hash CDK appends to a logical id: "RawBucket0C3EE094" -> "RawBucket".
func construct(logicalID string) string {
	return hashSuffix.ReplaceAllString(logicalID, "")
}

var hashSuffix = regexp.MustCompile(`[0-9A-F]{8}$`)

// refs collects the logical ids an expression refers to (Ref, Fn::GetAtt), pseudo parameters
// left out, and the literal strings it contains.
func refs(v interface{}, ids map[string]bool, literals *[]string) {
	switch x := v.(type) {
	case map[string]interface{}:
		if r, ok := x["Ref"].(string); ok && !strings.HasPrefix(r, "AWS::") {
			ids[construct(r)] = true
		}
		if g, ok := x["Fn::GetAtt"].([]interface{}); ok {
			ids[construct(g[0].(string))] = true
		}
		for _, e := range x {
			refs(e, ids, literals)
		}
	case []interface{}:
		for _, e := range x {
			refs(e, ids, literals)
		}
	case string:
		if literals != nil {
			*literals = append(*literals, x)
		}
	}
}

func strs(v interface{}) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []interface{}:
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = e.(string)
		}
		return out
	}
	return nil
}

func prop(r map[string]interface{}, path ...string) interface{} {
	var v interface{} = r["Properties"]
	for _, p := range path {
		m, ok := v.(map[string]interface{})
		if !ok {
			return nil
		}
		v = m[p]
	}
	return v
}

// one returns the only resource of a type whose logical id starts with prefix.
func (s *synthesized) one(t *testing.T, typ, prefix string) map[string]interface{} {
	t.Helper()
	var found []map[string]interface{}
	for id, r := range s.resources(typ) {
		if construct(id) == prefix {
			found = append(found, r)
		}
	}
	if len(found) != 1 {
		t.Fatalf("want one %s %s, found %d", typ, prefix, len(found))
	}
	return found[0]
}

func TestNoUnsuppressedNagErrors(t *testing.T) {
	s := defaultSynth(t)
	if len(s.nag) > 0 {
		t.Errorf("cdk-nag AwsSolutions errors without a suppression (add the fix, or a suppression with its reason in nag.go):\n%s", strings.Join(s.nag, "\n"))
	}
}

func TestKeyAndStream(t *testing.T) {
	s := defaultSynth(t)
	key := s.one(t, "AWS::KMS::Key", "LakeKey")
	if prop(key, "EnableKeyRotation") != true {
		t.Error("lake key rotation is off")
	}
	stream := s.one(t, "AWS::Kinesis::Stream", "EventStream")
	if m := prop(stream, "StreamModeDetails", "StreamMode"); m != "ON_DEMAND" {
		t.Errorf("stream mode %v, want ON_DEMAND by default", m)
	}
	enc := prop(stream, "StreamEncryption").(map[string]interface{})
	ids := map[string]bool{}
	refs(enc["KeyId"], ids, nil)
	if enc["EncryptionType"] != "KMS" || !ids["LakeKey"] {
		t.Errorf("stream encryption %v, want KMS with the lake key", enc)
	}
}

func TestBuckets(t *testing.T) {
	s := defaultSynth(t)
	type want struct {
		versioned, events, kms bool
		rules                  []string // lifecycle rule ids
	}
	wants := map[string]want{
		"RawBucket":           {true, true, true, []string{"abort-incomplete-uploads", "expire-noncurrent-versions", "tier-raw"}},
		"CleansedBucket":      {true, true, true, []string{"abort-incomplete-uploads", "expire-noncurrent-versions"}},
		"CuratedBucket":       {true, true, true, []string{"abort-incomplete-uploads", "expire-noncurrent-versions"}},
		"ConsumptionBucket":   {true, true, true, []string{"abort-incomplete-uploads", "expire-noncurrent-versions"}},
		"QuarantineBucket":    {false, true, true, []string{"abort-incomplete-uploads", "expire-quarantine"}},
		"AthenaResultsBucket": {false, false, true, []string{"abort-incomplete-uploads", "expire-athena-results"}},
		"LineageBucket":       {true, false, true, []string{"abort-incomplete-uploads", "expire-noncurrent-versions"}},
		"AuditBucket":         {true, false, true, []string{"abort-incomplete-uploads", "expire-audit-records"}},
		"AccessLogsBucket":    {false, false, false, []string{"abort-incomplete-uploads", "expire-access-logs"}},
	}
	buckets := s.resources("AWS::S3::Bucket")
	if len(buckets) != len(wants) {
		t.Errorf("%d buckets, want %d", len(buckets), len(wants))
	}
	policies := s.resources("AWS::S3::BucketPolicy")
	for id, b := range buckets {
		name := construct(id)
		w, ok := wants[name]
		if !ok {
			t.Errorf("unexpected bucket %s", id)
			continue
		}
		t.Run(name, func(t *testing.T) {
			pab := prop(b, "PublicAccessBlockConfiguration").(map[string]interface{})
			for _, k := range []string{"BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets"} {
				if pab[k] != true {
					t.Errorf("%s is not true", k)
				}
			}
			sse := prop(b, "BucketEncryption", "ServerSideEncryptionConfiguration").([]interface{})[0].(map[string]interface{})
			def := sse["ServerSideEncryptionByDefault"].(map[string]interface{})
			if w.kms {
				ids := map[string]bool{}
				refs(def["KMSMasterKeyID"], ids, nil)
				if def["SSEAlgorithm"] != "aws:kms" || !ids["LakeKey"] || sse["BucketKeyEnabled"] != true {
					t.Errorf("encryption %v, want SSE-KMS with the lake key and bucket keys", sse)
				}
			} else if def["SSEAlgorithm"] != "AES256" {
				t.Errorf("access logs encryption %v, want AES256 (log delivery cannot use SSE-KMS)", def)
			}
			versioned := prop(b, "VersioningConfiguration", "Status") == "Enabled"
			if versioned != w.versioned {
				t.Errorf("versioned %v, want %v", versioned, w.versioned)
			}
			events := prop(b, "NotificationConfiguration", "EventBridgeConfiguration", "EventBridgeEnabled") == true
			if events != w.events {
				t.Errorf("EventBridge notifications %v, want %v", events, w.events)
			}
			var rules []string
			for _, r := range prop(b, "LifecycleConfiguration", "Rules").([]interface{}) {
				rules = append(rules, r.(map[string]interface{})["Id"].(string))
			}
			sort.Strings(rules)
			if !slices.Equal(rules, w.rules) {
				t.Errorf("lifecycle rules %v, want %v", rules, w.rules)
			}
			if name != "AccessLogsBucket" {
				ids := map[string]bool{}
				refs(prop(b, "LoggingConfiguration", "DestinationBucketName"), ids, nil)
				if !ids["AccessLogsBucket"] {
					t.Error("server access logs do not go to the access logs bucket")
				}
			}
			// TLS only: the bucket policy denies any request without aws:SecureTransport.
			tls := false
			for _, p := range policies {
				ids := map[string]bool{}
				refs(prop(p, "Bucket"), ids, nil)
				if !ids[name] {
					continue
				}
				for _, st := range prop(p, "PolicyDocument", "Statement").([]interface{}) {
					stm := st.(map[string]interface{})
					if stm["Effect"] == "Deny" && toJSON(stm["Condition"]) == `{"Bool":{"aws:SecureTransport":"false"}}` {
						tls = true
					}
				}
			}
			if !tls {
				t.Error("no TLS-only deny statement in the bucket policy")
			}
		})
	}
	raw := s.one(t, "AWS::S3::Bucket", "RawBucket")
	got := toJSON(raw["Properties"].(map[string]interface{})["LifecycleConfiguration"])
	for _, w := range []string{`"StorageClass":"STANDARD_IA","TransitionInDays":30`, `"StorageClass":"GLACIER_IR","TransitionInDays":90`} {
		if !strings.Contains(got, w) {
			t.Errorf("raw lifecycle %s lacks %s", got, w)
		}
	}
	q := toJSON(s.one(t, "AWS::S3::Bucket", "QuarantineBucket")["Properties"].(map[string]interface{})["LifecycleConfiguration"])
	if !strings.Contains(q, `"ExpirationInDays":30`) {
		t.Errorf("quarantine lifecycle %s: want expiry after 30 days", q)
	}
}

func TestFirehoseArchive(t *testing.T) {
	s := defaultSynth(t)
	fh := s.one(t, "AWS::KinesisFirehose::DeliveryStream", "ArchiveDeliveryStream")
	if prop(fh, "DeliveryStreamType") != "KinesisStreamAsSource" {
		t.Errorf("type %v", prop(fh, "DeliveryStreamType"))
	}
	d := prop(fh, "ExtendedS3DestinationConfiguration").(map[string]interface{})
	ids := map[string]bool{}
	refs(d["BucketARN"], ids, nil)
	if !ids["RawBucket"] {
		t.Errorf("destination %v, want the raw bucket", d["BucketARN"])
	}
	if d["Prefix"] != "archive/user_events/dt=!{partitionKeyFromQuery:dt}/hr=!{partitionKeyFromQuery:hr}/" {
		t.Errorf("prefix %v", d["Prefix"])
	}
	if ep, _ := d["ErrorOutputPrefix"].(string); !strings.HasPrefix(ep, "archive-errors/!{firehose:error-output-type}/") {
		t.Errorf("error prefix %v", d["ErrorOutputPrefix"])
	}
	conv := d["DataFormatConversionConfiguration"].(map[string]interface{})
	if conv["Enabled"] != true || prop(map[string]interface{}{"Properties": conv}, "OutputFormatConfiguration", "Serializer", "ParquetSerDe") == nil {
		t.Errorf("conversion %v, want Parquet", conv)
	}
	if tn := prop(map[string]interface{}{"Properties": conv}, "SchemaConfiguration", "TableName"); tn != "raw_user_events" {
		t.Errorf("schema table %v, want raw_user_events", tn)
	}
	ids = map[string]bool{}
	refs(d["EncryptionConfiguration"], ids, nil)
	if !ids["LakeKey"] {
		t.Errorf("encryption %v, want the lake key", d["EncryptionConfiguration"])
	}
	if toJSON(d["BufferingHints"]) != `{"IntervalInSeconds":300,"SizeInMBs":128}` {
		t.Errorf("buffering %v", d["BufferingHints"])
	}
	if !strings.Contains(toJSON(d["ProcessingConfiguration"]), "MetadataExtraction") {
		t.Errorf("no partition-key extraction: %v", d["ProcessingConfiguration"])
	}
}

func TestGlueTablesFollowContracts(t *testing.T) {
	s := defaultSynth(t)
	db := s.one(t, "AWS::Glue::Database", "GlueDatabase")
	if n := prop(db, "DatabaseInput", "Name"); n != "sluice_dev" {
		t.Errorf("database %v, want sluice_dev", n)
	}
	cs := shipped(t)
	tables := s.resources("AWS::Glue::Table")
	// Curated tables are Iceberg tables promote creates: none in the template.
	sums, err := summary.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	if len(tables) != 2*len(cs)+3+len(sums) {
		t.Errorf("%d tables, want raw and cleansed per contract (%d), the lineage tables (objects, compacted), the audit table and a table per summary (%d)", len(tables), 2*len(cs), len(sums))
	}
	byName := map[string]map[string]interface{}{}
	for _, tb := range tables {
		byName[prop(tb, "TableInput", "Name").(string)] = tb
	}
	for _, c := range cs {
		for _, z := range lake.TableZones {
			name := lake.TableName(z.Zone, c.Name)
			tb, ok := byName[name]
			if !ok {
				t.Errorf("no table %s", name)
				continue
			}
			checkTable(t, tb, c.Name, z.Zone, z.Prefix, columnsOf(c))
		}
	}
	// The lineage function's records, JSON in the lineage bucket, queryable like any dataset.
	lin := table.Contract()
	if tb, ok := byName[lake.TableName(string(table.Zone), lin.Name)]; !ok {
		t.Errorf("no lineage table; tables: %v", slices.Collect(maps.Keys(byName)))
	} else {
		checkTable(t, tb, lin.Name, string(table.Zone), "", columnsOf(lin))
	}
	// Its compacted form, Parquet beside it: the lineage columns and the generation.
	comp := table.CompactedContract()
	if tb, ok := byName[lake.TableName(string(table.Zone), comp.Name)]; !ok {
		t.Errorf("no compacted lineage table; tables: %v", slices.Collect(maps.Keys(byName)))
	} else {
		checkTable(t, tb, comp.Name, string(table.Zone), "", append(columnsOf(lin), [2]string{table.GenerationName, "bigint"}))
	}
}

// checkTable asserts a table's columns, format and partition projection.
func checkTable(t *testing.T, tb map[string]interface{}, dataset, zone, prefix string, cols [][2]string) {
	t.Helper()
	name := lake.TableName(zone, dataset)
	ti := prop(tb, "TableInput").(map[string]interface{})
	sd := ti["StorageDescriptor"].(map[string]interface{})
	var got [][2]string
	for _, c := range sd["Columns"].([]interface{}) {
		cm := c.(map[string]interface{})
		got = append(got, [2]string{cm["Name"].(string), cm["Type"].(string)})
	}
	if !slices.Equal(got, cols) {
		t.Errorf("%s columns %v, want %v", name, got, cols)
	}
	serde := "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"
	if zone == string(table.Zone) && dataset == table.Dataset {
		serde = "org.openx.data.jsonserde.JsonSerDe"
	}
	if sd["SerdeInfo"].(map[string]interface{})["SerializationLibrary"] != serde {
		t.Errorf("%s serde %v, want %s", name, sd["SerdeInfo"], serde)
	}
	if toJSON(ti["PartitionKeys"]) != `[{"Comment":"UTC date of the event time","Name":"dt","Type":"date"},{"Comment":"UTC hour of the event time","Name":"hr","Type":"int"}]` {
		t.Errorf("%s partition keys %s", name, toJSON(ti["PartitionKeys"]))
	}
	p := ti["Parameters"].(map[string]interface{})
	want := map[string]string{
		"projection.enabled": "true", "projection.dt.type": "date", "projection.dt.range": lake.ProjectionRange(lake.Defaults.ProjectionStart),
		"projection.dt.format": "yyyy-MM-dd", "projection.dt.interval": "1", "projection.dt.interval.unit": "DAYS",
		"projection.hr.type": "integer", "projection.hr.range": "0,23", "projection.hr.digits": "2",
	}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("%s %s=%v, want %s", name, k, p[k], v)
		}
	}
	// storage.location.template is a Join of the bucket name and the dataset path.
	tmpl := toJSON(p["storage.location.template"])
	bucket := map[string]string{"raw": "RawBucket", "cleansed": "CleansedBucket", "curated": "CuratedBucket", string(table.Zone): "LineageBucket"}[zone]
	ids := map[string]bool{}
	refs(p["storage.location.template"], ids, nil)
	if !ids[bucket] || !strings.Contains(tmpl, fmt.Sprintf(`/%s%s/dt=${dt}/hr=${hr}/`, prefix, dataset)) {
		t.Errorf("%s location template %s, want s3://<%s>/%s%s/dt=${dt}/hr=${hr}/", name, tmpl, bucket, prefix, dataset)
	}
}

func TestAthenaWorkGroup(t *testing.T) {
	s := defaultSynth(t)
	wg := s.one(t, "AWS::Athena::WorkGroup", "AthenaWorkGroup")
	c := prop(wg, "WorkGroupConfiguration").(map[string]interface{})
	if c["EnforceWorkGroupConfiguration"] != true || c["PublishCloudWatchMetricsEnabled"] != true {
		t.Errorf("workgroup not enforced or without metrics: %v", c)
	}
	if c["BytesScannedCutoffPerQuery"] != float64(10<<30) {
		t.Errorf("cutoff %v, want 10 GiB", c["BytesScannedCutoffPerQuery"])
	}
	if toJSON(c["EngineVersion"]) != `{"SelectedEngineVersion":"Athena engine version 3"}` {
		t.Errorf("engine %v", c["EngineVersion"])
	}
	rc := toJSON(c["ResultConfiguration"])
	if !strings.Contains(rc, `"EncryptionOption":"SSE_KMS"`) || !strings.Contains(rc, "AthenaResultsBucket") || !strings.Contains(rc, "LakeKey") {
		t.Errorf("results %s, want SSE_KMS with the lake key in the results bucket", rc)
	}
}

func TestFunctions(t *testing.T) {
	s := defaultSynth(t)
	if n := len(s.resources("AWS::Lambda::Function")); n != len(lake.Functions)+len(lake.Scheduled) {
		t.Errorf("%d functions, want %d", n, len(lake.Functions)+len(lake.Scheduled))
	}
	logGroups := s.resources("AWS::Logs::LogGroup")
	for _, name := range lake.Functions {
		t.Run(name, func(t *testing.T) {
			f := s.one(t, "AWS::Lambda::Function", lake.FunctionLogicalID(name))
			spec := lake.Specs[name]
			checks := map[string]interface{}{
				"Runtime": "provided.al2023", "Handler": "bootstrap", "Architectures": []interface{}{"arm64"},
				"MemorySize": float64(spec.MemoryMB), "Timeout": float64(spec.TimeoutSeconds),
				"TracingConfig": map[string]interface{}{"Mode": "Active"},
			}
			for k, v := range checks {
				if toJSON(prop(f, k)) != toJSON(v) {
					t.Errorf("%s=%s, want %s", k, toJSON(prop(f, k)), toJSON(v))
				}
			}
			lc := prop(f, "LoggingConfig").(map[string]interface{})
			if lc["LogFormat"] != "JSON" || lc["ApplicationLogLevel"] != "INFO" {
				t.Errorf("logging %v, want JSON at INFO", lc)
			}
			ids := map[string]bool{}
			refs(lc["LogGroup"], ids, nil)
			lg := capitalizeName(name) + "Logs"
			if !ids[lg] {
				t.Errorf("log group %v, want %s", lc["LogGroup"], lg)
			}
			for id, g := range logGroups {
				if construct(id) == lg && prop(g, "RetentionInDays") != float64(30) {
					t.Errorf("log retention %v, want 30 days", prop(g, "RetentionInDays"))
				}
			}
			vars := prop(f, "Environment", "Variables").(map[string]interface{})
			var got []string
			for k := range vars {
				got = append(got, k)
			}
			// What the function reads, no more and no less (startup refuses to read the rest).
			want := slices.Clone(envvar.Functions[name].Set)
			sort.Strings(got)
			sort.Strings(want)
			if !slices.Equal(got, want) {
				t.Errorf("environment %v, want envvar.Functions[%q].Set %v", got, name, want)
			}
			if vars[envvar.LogLevel] != "INFO" {
				t.Errorf("log level %v", vars[envvar.LogLevel])
			}
		})
	}
	q := prop(s.one(t, "AWS::Lambda::Function", "QueryFunction"), "Environment", "Variables").(map[string]interface{})
	if q[envvar.RawSQL] != "false" || q[envvar.AthenaResultReuseMinutes] != "60" || q[envvar.GlueDatabase] != "sluice_dev" {
		t.Errorf("query defaults %v", q)
	}
}

func capitalizeName(s string) string { return strings.ToUpper(s[:1]) + s[1:] }
