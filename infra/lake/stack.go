// Package lake defines sluice's AWS deployment as one CDK stack: the Kinesis stream, the zone
// buckets, the Firehose archive, the Glue catalog generated from the dataset contracts, the Athena
// workgroup, the five functions with their triggers and least-privilege roles, the query API, and
// the alarms and dashboard that watch them.
package lake

import (
	"fmt"
	"slices"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssecretsmanager"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/shared/access"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/streammap"
	"github.com/sluicelake/sluice/shared/summary"
)

// Functions names the lake's functions: each is built from functions/<name>/.
var Functions = []string{"ingest", "validate", "promote", "lineage", "query", "collect", "summarize"}

// Scheduled names the functions a schedule runs, beside Functions: no trigger queue, no API.
var Scheduled = []string{"lineagecompact", "maintain"}

// Props configure the stack.
type Props struct {
	awscdk.StackProps
	Settings Settings
	// Contracts are the datasets the catalog gets tables for (events.Contracts() in the app).
	Contracts []*contract.Contract
	// Summaries are the consumption zone's tables (summary.Shipped() in the app): each gets a
	// Glue table, and the summarize function keeps them.
	Summaries []*summary.Summary
	// Code gives each function's deployment package; the app builds it from functions/<name>.
	Code func(function string) awslambda.Code
	// Access are the access files' grants (events.Access()): Lake Formation's grants, when the
	// lakeFormation setting is on. Nil grants nothing beyond the defaults.
	Access *access.Policy
}

// Lake holds the stack and the parts tests and outputs refer to.
type Lake struct {
	Stack     awscdk.Stack
	Key       awskms.Key
	Storage   *Storage
	Catalog   *Catalog
	Stream    *Stream
	Functions map[string]awslambda.Function
	Queues    map[string]*TriggerQueue
	API       *API
	// PIIKey is the secret holding the keyed-hash key promote applies to PII fields.
	PIIKey awssecretsmanager.Secret
	// Producer is the role producers assume to write to the stream.
	Producer awsiam.Role
	// DatasetStreams are the datasets' own streams, by dataset; Streams maps datasets to
	// stream names as the functions read it (SLUICE_DATASET_STREAMS).
	DatasetStreams map[string]*Stream
	Streams        streammap.Map
}

// NewStack defines the whole lake in one stack.
func NewStack(scope constructs.Construct, id string, props *Props) (*Lake, error) {
	s := props.Settings
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(props.Contracts) == 0 {
		return nil, fmt.Errorf("lake: no dataset contracts: add at least one events/*.avsc")
	}
	var archive *contract.Contract
	for _, c := range props.Contracts {
		if c.Name == s.ArchiveDataset {
			archive = c
		}
	}
	if archive == nil {
		return nil, fmt.Errorf("context archiveDataset=%q names no contract in events/: pick one of %v", s.ArchiveDataset, names(props.Contracts))
	}
	var own []*contract.Contract
	for _, d := range s.SharedStreamDatasets {
		if !slices.Contains(names(props.Contracts), d) {
			return nil, fmt.Errorf("context sharedStreamDatasets names %q, which has no contract in events/: pick from %v", d, names(props.Contracts))
		}
	}
	for _, c := range props.Contracts {
		// A change stream's events come from Kafka (Debezium), never from Kinesis producers.
		if s.OwnStream(c.Name) && !cdc.IsChangeStream(c) {
			own = append(own, c)
		}
	}
	if err := s.Kafka.validate(names(props.Contracts)); err != nil {
		return nil, err
	}
	if props.Code == nil {
		return nil, fmt.Errorf("lake: Props.Code is nil: the app must supply each function's package")
	}

	stack := awscdk.NewStack(scope, &id, &props.StackProps)
	// Dashboard tags are newer than the resource schema of cfn-lint 1.51, which `make infra-test`
	// runs: tagging it would fail the lint and tags nothing anyone bills or searches by.
	tagProps := &awscdk.TagProps{ExcludeResourceTypes: jsii.Strings("AWS::CloudWatch::Dashboard")}
	awscdk.Tags_Of(stack).Add(jsii.String("project"), jsii.String("sluice"), tagProps)
	awscdk.Tags_Of(stack).Add(jsii.String("stage"), jsii.String(s.Stage), tagProps)

	l := &Lake{Stack: stack}
	var err error
	l.Key = newKey(stack)
	l.Storage = newStorage(stack, s, l.Key)
	l.Catalog = newCatalog(stack, s, l.Storage, l.Key, props.Contracts, props.Summaries)
	if l.Stream, l.DatasetStreams, err = newStreams(stack, s, l.Key, l.Storage, l.Catalog, archive, own); err != nil {
		return nil, err
	}
	byDataset := map[string]string{}
	for d, ds := range l.DatasetStreams {
		byDataset[d] = *ds.Kinesis.StreamName()
	}
	if l.Streams, err = streammap.New(byDataset, *l.Stream.Kinesis.StreamName()); err != nil {
		return nil, err
	}
	l.Producer = newProducerRole(stack, s, l)
	l.Functions = newFunctions(stack, s, props.Code, l)
	l.Queues = newTriggers(stack, s, l)
	if s.Kafka.Enabled() {
		newKafkaSource(stack, s, l)
	}
	newSchedules(stack, s, l)
	l.API = newAPI(stack, s, l)
	newOperations(stack, s, l)
	newDataEventsTrail(stack, s, l.Storage)
	newLakeFormation(stack, s, l, props.Contracts, props.Access)
	addSuppressions(l)
	return l, nil
}

func newKey(stack awscdk.Stack) awskms.Key {
	return awskms.NewKey(stack, jsii.String("LakeKey"), &awskms.KeyProps{
		Description:       jsii.String("sluice: encrypts the stream, zone buckets, queues, topic and PII secret"),
		EnableKeyRotation: jsii.Bool(true),
		// Data written under this key must stay readable after a stack is deleted.
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
}

func names(cs []*contract.Contract) []string {
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.Name
	}
	return out
}
