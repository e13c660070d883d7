package lake_test

import (
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"

	"github.com/sluicelake/sluice/infra/lake"
	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/streammap"
)

// datasetsOf lists the datasets whose own stream (a Kinesis stream with the id prefix of
// lake.DatasetStreamID) the template holds, sorted.
func datasetsOf(t *testing.T, s *synthesized, datasets []string) []string {
	t.Helper()
	var out []string
	for _, d := range datasets {
		for id := range s.resources("AWS::Kinesis::Stream") {
			if construct(id) == lake.DatasetStreamID(d)+"EventStream" {
				out = append(out, d)
			}
		}
	}
	sort.Strings(out)
	return out
}

// By default every dataset but a change stream (fed from Kafka) has a stream of its own, read by ingest, archived by a Firehose of
// its own into its dataset's raw table, writable by the producer role, watched by alarms and
// named in the outputs; the shared stream stays.
func TestEachDatasetHasItsOwnStream(t *testing.T) {
	s := defaultSynth(t)
	var all []string
	for _, c := range streamed(t) {
		all = append(all, c.Name)
	}
	sort.Strings(all)
	if got := datasetsOf(t, s, all); !slices.Equal(got, all) {
		t.Fatalf("datasets with a stream of their own: %v, want every contract %v", got, all)
	}
	if n := len(s.resources("AWS::Kinesis::Stream")); n != len(all)+1 {
		t.Errorf("%d streams, want one per dataset and the shared one", n)
	}
	mappings := s.resources("AWS::Lambda::EventSourceMapping")
	producer := toJSON(prop(s.one(t, "AWS::IAM::Policy", "ProducerRoleDefaultPolicy"), "PolicyDocument"))
	ingestEnv := toJSON(prop(s.one(t, "AWS::Lambda::Function", "IngestFunction"), "Environment", "Variables", streammap.EnvDatasetStreams))
	outputs := s.json["Outputs"].(map[string]interface{})
	alarms := map[string]bool{}
	for id := range s.resources("AWS::CloudWatch::Alarm") {
		alarms[construct(id)] = true
	}
	for _, d := range all {
		id := lake.DatasetStreamID(d)
		stream := id + "EventStream"

		fh := s.one(t, "AWS::KinesisFirehose::DeliveryStream", id+"ArchiveDeliveryStream")
		src := map[string]bool{}
		refs(prop(fh, "KinesisStreamSourceConfiguration", "KinesisStreamARN"), src, nil)
		dest := prop(fh, "ExtendedS3DestinationConfiguration").(map[string]interface{})
		conv := map[string]interface{}{"Properties": dest["DataFormatConversionConfiguration"]}
		if !src[stream] || dest["Prefix"] != archive.Prefix(d) || prop(conv, "SchemaConfiguration", "TableName") != lake.TableName("raw", d) {
			t.Errorf("%s's Firehose reads %v into %v with table %v; want its stream %s into %s with %s",
				d, src, dest["Prefix"], prop(conv, "SchemaConfiguration", "TableName"), stream, archive.Prefix(d), lake.TableName("raw", d))
		}
		// Its role may write only its dataset's archive prefix (and the error prefix).
		if pol := toJSON(prop(s.one(t, "AWS::IAM::Policy", id+"FirehosePolicy"), "PolicyDocument")); !strings.Contains(pol, "/"+archive.DataPrefix(d)+"*") || strings.Contains(pol, `"/archive/*"`) {
			t.Errorf("%s's Firehose policy does not narrow S3 to %s*: %s", d, archive.DataPrefix(d), pol)
		}

		found := false
		for _, m := range mappings {
			ids := map[string]bool{}
			refs(prop(m, "EventSourceArn"), ids, nil)
			fn := map[string]bool{}
			refs(prop(m, "FunctionName"), fn, nil)
			found = found || ids[stream] && fn["IngestFunction"] && prop(m, "FunctionResponseTypes") != nil
		}
		if !found {
			t.Errorf("no event source mapping from %s to ingest with batch item failures", stream)
		}
		if !strings.Contains(producer, stream) {
			t.Errorf("the producer role may not write to %s: %s", stream, producer)
		}
		if !strings.Contains(ingestEnv, stream) || !strings.Contains(ingestEnv, `\"`+d+`\":`) {
			t.Errorf("ingest's %s lacks %s → %s: %s", streammap.EnvDatasetStreams, d, stream, ingestEnv)
		}
		for _, a := range []string{"IteratorAgeAlarm", "FirehoseDeliveryAlarm", "FirehoseFreshnessAlarm", "FirehosePartitionLimitAlarm"} {
			if !alarms[id+a] {
				t.Errorf("no alarm %s", id+a)
			}
		}
		if o, ok := outputs["StreamName"+strings.TrimPrefix(id, "Dataset")].(map[string]interface{}); !ok || !strings.Contains(toJSON(o["Value"]), stream) {
			t.Errorf("no output naming %s's stream: %v", d, o)
		}
	}
	if _, ok := outputs["DatasetStreams"]; !ok {
		t.Error("no DatasetStreams output")
	}
	// ingest reads exactly the lake's streams: the grants CDK adds per mapping name each one.
	ingest := toJSON(prop(s.one(t, "AWS::IAM::Policy", "IngestRoleDefaultPolicy"), "PolicyDocument"))
	for id := range s.resources("AWS::Kinesis::Stream") {
		if !strings.Contains(ingest, id) {
			t.Errorf("ingest may not read %s", id)
		}
	}
}

// sharedStreamDatasets leaves chosen datasets on the shared stream; datasetStreams=false all.
func TestDatasetStreamSettings(t *testing.T) {
	s := synth(t, shipped(t), map[string]interface{}{"sharedStreamDatasets": "customers"})
	if got := datasetsOf(t, s, []string{"customers", "user_events"}); !slices.Equal(got, []string{"user_events"}) {
		t.Errorf("with sharedStreamDatasets=customers, own streams for %v, want user_events only", got)
	}
	if n := len(s.resources("AWS::KinesisFirehose::DeliveryStream")); n != 2 {
		t.Errorf("%d delivery streams, want the shared one's and user_events'", n)
	}
	off := lake.Defaults
	off.DatasetStreams = false
	if off.OwnStream("user_events") || !lake.Defaults.OwnStream("user_events") {
		t.Error("datasetStreams=false must leave every dataset on the shared stream, and the default give each its own")
	}
}

// A dataset named in sharedStreamDatasets must have a contract: a typo would silently give that
// dataset a stream of its own.
func TestSharedStreamDatasetsNameContracts(t *testing.T) {
	s := lake.Defaults
	s.SharedStreamDatasets = []string{"custmers"}
	app := awscdk.NewApp(nil)
	_, err := lake.NewStack(app, "sluice-typo", &lake.Props{Settings: s, Contracts: shipped(t),
		Code: func(string) awslambda.Code { return nil }})
	if err == nil || !strings.Contains(err.Error(), "sharedStreamDatasets") || !strings.Contains(err.Error(), "custmers") {
		t.Fatalf("err = %v, want one naming sharedStreamDatasets and custmers", err)
	}
}
