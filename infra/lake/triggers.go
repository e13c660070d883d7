package lake

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/jsii-runtime-go"
)

// TriggerQueue is a function's work queue and its dead-letter queue. For ingest, Queue is nil:
// Kinesis is its queue, and DLQ receives the shard and sequence range of batches it gave up on.
type TriggerQueue struct {
	Queue, DLQ awssqs.Queue
}

// summarizeWindowSeconds is how long the summarize trigger gathers curated events into one
// batch: the lag a summary may have behind curated, traded for fewer refreshes.
const summarizeWindowSeconds = 60

// maxReceives is how often an S3 event is handed to a function before it moves to the DLQ.
const maxReceives = 5

// ReceivesBeforeDLQ is the maxReceiveCount of a work queue whose trigger runs at most
// maxConcurrency invocations at once (0: uncapped). A promotion that finds its partition locked
// waits for at most half its invocation, then fails the message, which returns after the
// visibility timeout (6x the function timeout, longer than any lock is held: a lock expires 10 s
// after its holder's deadline), so each receive can be lost to at most one promotion holding the
// lock. Each of the other maxConcurrency-1 promotions that can run at once may win it once, and
// the message still has maxReceives receives for failures of its own.
func ReceivesBeforeDLQ(maxConcurrency int) int {
	if maxConcurrency <= 1 {
		return maxReceives
	}
	return maxReceives + maxConcurrency - 1
}

func newTriggers(stack awscdk.Stack, s Settings, l *Lake) map[string]*TriggerQueue {
	// EventBridge encrypts into the queues with the lake key: the SQS rule target grants
	// events.amazonaws.com sqs:SendMessage on the work queue and the use of its key. The work
	// queue's statement cannot name the rule (the key would then refer to the rule, which refers
	// to the queue, which refers to the key: a cycle), so cdk.json's
	// @aws-cdk/aws-events:eventsTargetQueueSameAccount scopes both to this account
	// (aws:SourceAccount); without it, a rule in any account could send into the queue. A deny
	// in each work queue's policy narrows that to the queue's own rule, and the dead-letter
	// queues' statements name their rule (aws:SourceArn).
	queue := func(id string, timeout awscdk.Duration, dlq awssqs.IQueue, receives int) awssqs.Queue {
		p := &awssqs.QueueProps{
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: l.Key,
			EnforceSSL:          jsii.Bool(true),
			RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
			VisibilityTimeout:   timeout,
		}
		if dlq != nil {
			p.DeadLetterQueue = &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(receives)}
		}
		return awssqs.NewQueue(stack, jsii.String(id), p)
	}

	out := map[string]*TriggerQueue{}

	ingestDLQ := queue("IngestDLQ", nil, nil, 0)
	// A mapping per stream, each granting ingest read on its stream alone; one dead-letter queue
	// for all (its messages name the stream).
	for _, stream := range append([]*Stream{l.Stream}, datasetStreams(l)...) {
		l.Functions["ingest"].AddEventSource(awslambdaeventsources.NewKinesisEventSource(stream.Kinesis, &awslambdaeventsources.KinesisEventSourceProps{
			StartingPosition:        awslambda.StartingPosition_TRIM_HORIZON,
			BatchSize:               jsii.Number(s.IngestBatchSize),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(s.IngestBatchWindowSeconds)),
			ParallelizationFactor:   jsii.Number(s.IngestParallelization),
			ReportBatchItemFailures: jsii.Bool(true),
			BisectBatchOnError:      jsii.Bool(true),
			RetryAttempts:           jsii.Number(5),
			// Older than this, a record is still in the Firehose archive: give up on it rather
			// than block its shard.
			MaxRecordAge: awscdk.Duration_Hours(jsii.Number(min(6, s.StreamRetentionHours))),
			OnFailure:    awslambdaeventsources.NewSqsDlq(ingestDLQ),
		}))
	}
	out["ingest"] = &TriggerQueue{DLQ: ingestDLQ}

	st := l.Storage
	objectCreated := func(buckets []awss3.Bucket, keyPrefix string) *awsevents.EventPattern {
		names := make([]interface{}, len(buckets))
		for i, b := range buckets {
			names[i] = b.BucketName()
		}
		detail := map[string]interface{}{"bucket": map[string]interface{}{"name": names}}
		if keyPrefix != "" {
			detail["object"] = map[string]interface{}{"key": []interface{}{map[string]interface{}{"prefix": keyPrefix}}}
		}
		return &awsevents.EventPattern{
			Source:     jsii.Strings("aws.s3"),
			DetailType: jsii.Strings("Object Created"),
			Detail:     &detail,
		}
	}
	s3Triggers := []struct {
		fn      string
		pattern *awsevents.EventPattern
		batch   int
		// maxConcurrency caps the invocations the queue runs at once (0: Lambda scales freely).
		maxConcurrency int
		// window is how long Lambda gathers a batch (default 1 s).
		window int
	}{
		{"validate", objectCreated([]awss3.Bucket{st.Raw}, "landing/"), 1, 0, 0},
		// Promotions of one partition take turns on its lock: more of them at once only wait
		// (and a wait that outlasts LockOptions.MaxWait is a failed receive). With the cap, Lambda
		// leaves the rest in the queue instead of invoking, and throttling, more: a message
		// waiting there counts no receive. See ReceivesBeforeDLQ for the room a wait has.
		{"promote", objectCreated([]awss3.Bucket{st.Cleansed}, ""), 10, s.PromoteMaxConcurrency, 0},
		{"lineage", objectCreated(st.Zones(), ""), 10, 0, 0},
		// The debounce of the summaries: a burst of promotions (every partition of a replay,
		// say) gathers for up to SummarizeWindowSeconds into one batch, one refresh per summary
		// of the union of its days. Two at most run at once (SQS's least cap), so refreshes of
		// one day rarely overlap.
		{"summarize", objectCreated([]awss3.Bucket{st.Curated}, ""), 10000, 2, summarizeWindowSeconds},
	}
	for _, t := range s3Triggers {
		id := capitalize(t.fn)
		fn := l.Functions[t.fn]
		dlq := queue(id+"DLQ", nil, nil, 0)
		// AWS's advice: a visibility timeout of six times the function timeout, so a throttled
		// retry does not hand the same message to a second invocation.
		q := queue(id+"Queue", awscdk.Duration_Seconds(jsii.Number(6*Specs[t.fn].TimeoutSeconds)), dlq, ReceivesBeforeDLQ(t.maxConcurrency))
		rule := awsevents.NewRule(stack, jsii.String(id+"Rule"), &awsevents.RuleProps{
			Description:  jsii.String("sluice: object-created events for the " + t.fn + " function"),
			EventPattern: t.pattern,
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSqsQueue(q, &awseventstargets.SqsQueueProps{
				// Events EventBridge cannot deliver land beside the ones the function gave up on.
				DeadLetterQueue: dlq,
				RetryAttempts:   jsii.Number(185),
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
			})},
		})
		// The target's grant can only say "this account" (above); the queue's own policy can name
		// the rule without a cycle: EventBridge sends into the queue for this rule only.
		q.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:        jsii.String("OnlyItsRuleSends"),
			Effect:     awsiam.Effect_DENY,
			Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
			Actions:    jsii.Strings("sqs:SendMessage"),
			Resources:  &[]*string{q.QueueArn()},
			Conditions: &map[string]interface{}{"ArnNotEquals": map[string]interface{}{"aws:SourceArn": rule.RuleArn()}},
		}))
		src := &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               jsii.Number(t.batch),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(max(1, t.window))),
			ReportBatchItemFailures: jsii.Bool(true),
		}
		if t.maxConcurrency > 0 {
			src.MaxConcurrency = jsii.Number(t.maxConcurrency)
		}
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q, src))
		out[t.fn] = &TriggerQueue{Queue: q, DLQ: dlq}
	}
	return out
}
