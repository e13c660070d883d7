package lake

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/jsii-runtime-go"
)

// newProducerRole is the role producers assume to write events to the streams, the shared one
// and every dataset's. The stream is
// encrypted with the lake key, and Kinesis encrypts each record with a data key it asks KMS for
// on the producer's behalf: a producer needs kms:GenerateDataKey on the key besides the Kinesis
// actions, and nothing else (reading the stream back would need kms:Decrypt; producers don't).
func newProducerRole(stack awscdk.Stack, s Settings, l *Lake) awsiam.Role {
	role := awsiam.NewRole(stack, jsii.String("ProducerRole"), &awsiam.RoleProps{
		AssumedBy:   assumableBy(s.ProducerPrincipals),
		Description: jsii.String("sluice " + s.Stage + ": may write events to the stream and nothing else"),
	})
	role.AddToPolicy(allow(ProducerStreamActions, streamArns(l)...))
	role.AddToPolicy(allow([]string{"kms:GenerateDataKey"}, l.Key.KeyArn()))
	return role
}

// ProducerStreamActions are what a producer does to the stream: write single records and
// batches, and (SDK producers like the KPL) find the stream's shards.
var ProducerStreamActions = []string{"kinesis:PutRecord", "kinesis:PutRecords", "kinesis:DescribeStreamSummary", "kinesis:ListShards"}

// assumableBy is who may assume a role: the ARNs given, or by default the account, which still
// has to allow sts:AssumeRole on the role to a user or role of its own.
func assumableBy(arns []string) awsiam.IPrincipal {
	var principals []awsiam.IPrincipal
	for _, p := range arns {
		principals = append(principals, awsiam.NewArnPrincipal(jsii.String(p)))
	}
	if len(principals) == 0 {
		principals = append(principals, awsiam.NewAccountRootPrincipal())
	}
	return awsiam.NewCompositePrincipal(principals...)
}
