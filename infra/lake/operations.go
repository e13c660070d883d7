package lake

import (
	"fmt"
	"slices"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatchactions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssnssubscriptions"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/shared/obs"
)

// MetricsNamespace is where the functions publish (shared/obs.DefaultNamespace).
const MetricsNamespace = obs.DefaultNamespace

func newOperations(stack awscdk.Stack, s Settings, l *Lake) {
	// CloudWatch publishes alarm notifications as its service principal, on behalf of this
	// account's alarms only (confused-deputy guard: aws:SourceAccount and aws:SourceArn).
	cloudwatch := awsiam.NewServicePrincipal(jsii.String("cloudwatch.amazonaws.com"), nil)
	fromOurAlarms := &map[string]interface{}{
		"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()},
		"ArnLike": map[string]interface{}{
			"aws:SourceArn": fmt.Sprintf("arn:%s:cloudwatch:%s:%s:alarm:*", *stack.Partition(), *stack.Region(), *stack.Account()),
		},
	}
	// It encrypts into the topic with the lake key.
	l.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublishToEncryptedTopic"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: fromOurAlarms,
	}), jsii.Bool(false))
	topic := awssns.NewTopic(stack, jsii.String("AlarmTopic"), &awssns.TopicProps{
		DisplayName: jsii.String("sluice " + s.Stage + " alarms"),
		MasterKey:   l.Key,
		EnforceSSL:  jsii.Bool(true),
	})
	// enforceSSL gives the topic a policy of its own, which replaces SNS's default one (the
	// account may publish) and holds only the TLS deny: without this statement no alarm
	// notification is ever delivered.
	topic.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("CloudWatchAlarmsPublish"),
		Principals: &[]awsiam.IPrincipal{cloudwatch},
		Actions:    jsii.Strings("sns:Publish"),
		Resources:  &[]*string{topic.TopicArn()},
		Conditions: fromOurAlarms,
	}))
	if s.AlarmEmail != "" {
		topic.AddSubscription(awssnssubscriptions.NewEmailSubscription(jsii.String(s.AlarmEmail), nil))
	}
	action := awscloudwatchactions.NewSnsAction(topic)
	five := awscdk.Duration_Minutes(jsii.Number(5))
	alarm := func(id, desc string, m awscloudwatch.IMetric, threshold float64, cmp awscloudwatch.ComparisonOperator, periods int) {
		a := awscloudwatch.NewAlarm(stack, jsii.String(id), &awscloudwatch.AlarmProps{
			Metric:             m,
			AlarmDescription:   jsii.String(desc),
			Threshold:          jsii.Number(threshold),
			ComparisonOperator: cmp,
			EvaluationPeriods:  jsii.Number(periods),
			TreatMissingData:   awscloudwatch.TreatMissingData_NOT_BREACHING,
		})
		a.AddAlarmAction(action)
		a.AddOkAction(action)
	}
	gte := awscloudwatch.ComparisonOperator_GREATER_THAN_OR_EQUAL_TO_THRESHOLD
	gt := awscloudwatch.ComparisonOperator_GREATER_THAN_THRESHOLD
	sum := &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")}

	ingest := l.Functions["ingest"]
	alarm("IngestIteratorAgeAlarm", fmt.Sprintf("ingest is more than %d s behind the stream", s.IteratorAgeAlarmSeconds),
		ingest.Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
		float64(s.IteratorAgeAlarmSeconds*1000), gt, 3)
	// Scheduled functions too: a failed run is not retried, and only the alarm tells.
	for _, name := range append(slices.Clone(Functions), Scheduled...) {
		fn := l.Functions[name]
		id := capitalize(name)
		alarm(id+"ErrorsAlarm", name+" returned errors (see its log group)", fn.MetricErrors(sum), 1, gte, 1)
		alarm(id+"ThrottlesAlarm", name+" was throttled (account concurrency)", fn.MetricThrottles(sum), 1, gte, 1)
	}
	for _, name := range Functions {
		q := l.Queues[name]
		if q == nil {
			continue
		}
		alarm(capitalize(name)+"DLQDepthAlarm", "events wait in the "+name+" dead-letter queue: inspect and redrive them",
			q.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}), 1, gte, 1)
	}
	deliveryMetric := func(fh awskinesisfirehose.CfnDeliveryStream) func(metric, stat string) awscloudwatch.Metric {
		return func(metric, stat string) awscloudwatch.Metric {
			return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
				Namespace:     jsii.String("AWS/Firehose"),
				MetricName:    jsii.String(metric),
				DimensionsMap: &map[string]*string{"DeliveryStreamName": fh.Ref()},
				Period:        five,
				Statistic:     jsii.String(stat),
			})
		}
	}
	firehose := deliveryMetric(l.Stream.Firehose)
	// The shared stream's archive first (ids without a prefix), then each dataset stream's.
	for _, st := range append([]*Stream{l.Stream}, datasetStreams(l)...) {
		id, what, firehose := DatasetStreamID(st.Dataset), "Firehose", deliveryMetric(st.Firehose)
		if st.Dataset != "" {
			what = "Firehose of " + st.Dataset
			// ingest's IteratorAge is the worst over all its mappings; the stream's own
			// metric tells which stream falls behind (its slowest reader, ingest or Firehose).
			alarm(id+"IteratorAgeAlarm", fmt.Sprintf("the %s stream's readers are more than %d s behind", st.Dataset, s.IteratorAgeAlarmSeconds),
				st.Kinesis.MetricGetRecordsIteratorAgeMilliseconds(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")}),
				float64(s.IteratorAgeAlarmSeconds*1000), gt, 3)
		}
		alarm(id+"FirehoseDeliveryAlarm", what+" failed to deliver to the raw archive (DeliveryToS3.Success below 1)",
			firehose("DeliveryToS3.Success", "Minimum"), 1, awscloudwatch.ComparisonOperator_LESS_THAN_THRESHOLD, 2)
		alarm(id+"FirehoseFreshnessAlarm", "the oldest record in "+what+" is older than 15 minutes",
			firehose("DeliveryToS3.DataFreshness", "Maximum"), 900, gt, 2)
		// Past 500 active partitions (hours being buffered), Firehose writes the remaining records
		// unconverted under the error prefix (archive-errors/activePartitionExceeded/): a backfill of
		// many old hours through the stream does this. See infra/README.md.
		alarm(id+"FirehosePartitionLimitAlarm", what+" hit its active partition limit: records went to archive-errors/activePartitionExceeded/ (see infra/README.md, backfills)",
			firehose("PartitionCountExceeded", "Maximum"), 1, gte, 1)
	}

	// What ingest and validate publish (shared/obs, embedded metric format): per function,
	// RecordsWritten and RecordsQuarantined.
	records := func(function, metric string) awscloudwatch.Metric {
		return awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace:     jsii.String(MetricsNamespace),
			MetricName:    jsii.String(metric),
			DimensionsMap: &map[string]*string{obs.DimFunction: jsii.String(function)},
			Period:        awscdk.Duration_Minutes(jsii.Number(15)),
			Statistic:     jsii.String("Sum"),
		})
	}
	quarantineRate := awscloudwatch.NewMathExpression(&awscloudwatch.MathExpressionProps{
		Expression: jsii.String("100 * (FILL(qi,0) + FILL(qv,0)) / (FILL(qi,0) + FILL(qv,0) + FILL(wi,0) + FILL(wv,0))"),
		UsingMetrics: &map[string]awscloudwatch.IMetric{
			"qi": records("ingest", "RecordsQuarantined"), "wi": records("ingest", "RecordsWritten"),
			"qv": records("validate", "RecordsQuarantined"), "wv": records("validate", "RecordsWritten"),
		},
		Label:  jsii.String("quarantined %"),
		Period: awscdk.Duration_Minutes(jsii.Number(15)),
	})
	alarm("QuarantineRateAlarm", fmt.Sprintf("more than %g%% of records were quarantined in 15 minutes", s.QuarantineAlarmPercent),
		quarantineRate, s.QuarantineAlarmPercent, gt, 1)

	newDashboard(stack, s, l, quarantineRate, firehose)
	newOutputs(stack, l, topic)
}

func newDashboard(stack awscdk.Stack, s Settings, l *Lake, quarantineRate awscloudwatch.IMetric, firehose func(string, string) awscloudwatch.Metric) {
	five := awscdk.Duration_Minutes(jsii.Number(5))
	graph := func(title string, left ...awscloudwatch.IMetric) awscloudwatch.IWidget {
		return awscloudwatch.NewGraphWidget(&awscloudwatch.GraphWidgetProps{Title: jsii.String(title), Left: &left, Width: jsii.Number(8)})
	}
	var invocations, errs, durations, dlqs []awscloudwatch.IMetric
	for _, name := range Functions {
		fn := l.Functions[name]
		invocations = append(invocations, fn.MetricInvocations(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name)}))
		errs = append(errs, fn.MetricErrors(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name)}))
		durations = append(durations, fn.MetricDuration(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name), Statistic: jsii.String("p99")}))
		if q := l.Queues[name]; q != nil {
			dlqs = append(dlqs, q.DLQ.MetricApproximateNumberOfMessagesVisible(&awscloudwatch.MetricOptions{Period: five, Label: jsii.String(name)}))
		}
	}
	ks := l.Stream.Kinesis
	d := awscloudwatch.NewDashboard(stack, jsii.String("Dashboard"), &awscloudwatch.DashboardProps{
		DashboardName: jsii.String("sluice-" + s.Stage),
	})
	d.AddWidgets(
		graph("Stream: incoming records", ks.MetricIncomingRecords(&awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Sum")})),
		graph("Ingest: iterator age (ms)", l.Functions["ingest"].Metric(jsii.String("IteratorAge"), &awscloudwatch.MetricOptions{Period: five, Statistic: jsii.String("Maximum")})),
		graph("Quarantined records (%)", quarantineRate),
	)
	d.AddWidgets(graph("Invocations", invocations...), graph("Errors", errs...), graph("Duration p99 (ms)", durations...))
	d.AddWidgets(
		graph("Dead-letter queues: messages", dlqs...),
		graph("Firehose: delivery success / freshness (s)", firehose("DeliveryToS3.Success", "Average"), firehose("DeliveryToS3.DataFreshness", "Maximum")),
		graph("Athena: bytes scanned", awscloudwatch.NewMetric(&awscloudwatch.MetricProps{
			Namespace: jsii.String("AWS/Athena"), MetricName: jsii.String("ProcessedBytes"),
			DimensionsMap: &map[string]*string{"WorkGroup": l.Catalog.WorkGroup.Ref()},
			Period:        five, Statistic: jsii.String("Sum"),
		})),
	)
}

func newOutputs(stack awscdk.Stack, l *Lake, topic awssns.Topic) {
	out := func(id string, v *string, desc string) {
		awscdk.NewCfnOutput(stack, jsii.String(id), &awscdk.CfnOutputProps{Value: v, Description: jsii.String(desc)})
	}
	st := l.Storage
	out("StreamName", l.Stream.Kinesis.StreamName(), "shared Kinesis stream: any dataset, each record names its own in _dataset")
	for _, st := range datasetStreams(l) {
		out("StreamName"+strings.TrimPrefix(DatasetStreamID(st.Dataset), "Dataset"), st.Kinesis.StreamName(), "Kinesis stream of dataset "+st.Dataset+" alone: records need no _dataset")
	}
	out("DatasetStreams", jsii.String(l.Streams.Encode()), "dataset to stream name, as JSON (what ingest reads as SLUICE_DATASET_STREAMS)")
	out("RawBucketName", st.Raw.BucketName(), "raw zone: Firehose archive (archive/), file drops (landing/)")
	out("CleansedBucketName", st.Cleansed.BucketName(), "cleansed zone")
	out("CuratedBucketName", st.Curated.BucketName(), "curated zone")
	out("QuarantineBucketName", st.Quarantine.BucketName(), "quarantined records with their reasons")
	out("AthenaResultsBucketName", st.Results.BucketName(), "Athena query results")
	out("LineageBucketName", st.Lineage.BucketName(), "OpenLineage events")
	out("AccessLogsBucketName", st.AccessLogs.BucketName(), "S3 server access logs of the other buckets")
	out("ApiUrl", l.API.HTTP.ApiEndpoint(), "query API base URL (IAM/SigV4 auth, service execute-api)")
	out("ApiCallerRoleArn", l.API.CallerRole.RoleArn(), "role to assume to call the query API")
	out("AthenaWorkGroupName", l.Catalog.WorkGroup.Ref(), "Athena workgroup")
	out("GlueDatabaseName", jsii.String(l.Catalog.Name), "Glue database with one table per dataset and zone")
	out("AlarmTopicArn", topic.TopicArn(), "SNS topic the alarms notify")
	out("ProducerRoleArn", l.Producer.RoleArn(), "role producers assume to write to the stream (PutRecord/PutRecords, with the lake key)")
}
