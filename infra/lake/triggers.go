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

// maxReceives is how often an S3 event is handed to a function before it moves to the DLQ.
const maxReceives = 5

func newTriggers(stack awscdk.Stack, s Settings, l *Lake) map[string]*TriggerQueue {
	// EventBridge encrypts into the queues with the lake key.
	l.Key.AddToResourcePolicy(awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Sid:        jsii.String("EventBridgeDeliversToEncryptedQueues"),
		Principals: &[]awsiam.IPrincipal{awsiam.NewServicePrincipal(jsii.String("events.amazonaws.com"), nil)},
		Actions:    jsii.Strings("kms:GenerateDataKey", "kms:Decrypt"),
		Resources:  jsii.Strings("*"),
		Conditions: &map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": stack.Account()}},
	}), jsii.Bool(false))

	queue := func(id string, timeout awscdk.Duration, dlq awssqs.IQueue) awssqs.Queue {
		p := &awssqs.QueueProps{
			Encryption:          awssqs.QueueEncryption_KMS,
			EncryptionMasterKey: l.Key,
			EnforceSSL:          jsii.Bool(true),
			RetentionPeriod:     awscdk.Duration_Days(jsii.Number(14)),
			VisibilityTimeout:   timeout,
		}
		if dlq != nil {
			p.DeadLetterQueue = &awssqs.DeadLetterQueue{Queue: dlq, MaxReceiveCount: jsii.Number(maxReceives)}
		}
		return awssqs.NewQueue(stack, jsii.String(id), p)
	}

	out := map[string]*TriggerQueue{}

	ingestDLQ := queue("IngestDLQ", nil, nil)
	l.Functions["ingest"].AddEventSource(awslambdaeventsources.NewKinesisEventSource(l.Stream.Kinesis, &awslambdaeventsources.KinesisEventSourceProps{
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
	}{
		{"validate", objectCreated([]awss3.Bucket{st.Raw}, "landing/"), 1},
		{"promote", objectCreated([]awss3.Bucket{st.Cleansed}, ""), 10},
		{"lineage", objectCreated(st.Zones(), ""), 10},
	}
	for _, t := range s3Triggers {
		id := capitalize(t.fn)
		fn := l.Functions[t.fn]
		dlq := queue(id+"DLQ", nil, nil)
		// AWS's advice: a visibility timeout of six times the function timeout, so a throttled
		// retry does not hand the same message to a second invocation.
		q := queue(id+"Queue", awscdk.Duration_Seconds(jsii.Number(6*Specs[t.fn].TimeoutSeconds)), dlq)
		awsevents.NewRule(stack, jsii.String(id+"Rule"), &awsevents.RuleProps{
			Description:  jsii.String("sluice: object-created events for the " + t.fn + " function"),
			EventPattern: t.pattern,
			Targets: &[]awsevents.IRuleTarget{awseventstargets.NewSqsQueue(q, &awseventstargets.SqsQueueProps{
				// Events EventBridge cannot deliver land beside the ones the function gave up on.
				DeadLetterQueue: dlq,
				RetryAttempts:   jsii.Number(185),
				MaxEventAge:     awscdk.Duration_Hours(jsii.Number(24)),
			})},
		})
		fn.AddEventSource(awslambdaeventsources.NewSqsEventSource(q, &awslambdaeventsources.SqsEventSourceProps{
			BatchSize:               jsii.Number(t.batch),
			MaxBatchingWindow:       awscdk.Duration_Seconds(jsii.Number(1)),
			ReportBatchItemFailures: jsii.Bool(true),
		}))
		out[t.fn] = &TriggerQueue{Queue: q, DLQ: dlq}
	}
	return out
}
