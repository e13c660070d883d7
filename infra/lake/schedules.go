package lake

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsevents"
	"github.com/aws/aws-cdk-go/awscdk/v2/awseventstargets"
	"github.com/aws/jsii-runtime-go"
)

// newSchedules runs the Scheduled functions: lineagecompact every hour, maintain every
// maintainEveryHours. A failed run is not retried by EventBridge: the next run takes up every
// hour still in its lookback, and every table maintenance left undone.
func newSchedules(stack awscdk.Stack, s Settings, l *Lake) {
	awsevents.NewRule(stack, jsii.String("LineagecompactSchedule"), &awsevents.RuleProps{
		Description: jsii.String("sluice: compacts the lineage dataset's closed hours into Parquet"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(1))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(l.Functions["lineagecompact"], &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(0),
		})},
	})
	awsevents.NewRule(stack, jsii.String("MaintainSchedule"), &awsevents.RuleProps{
		Description: jsii.String("sluice: curated table maintenance (compaction, snapshot expiry, orphan removal)"),
		Schedule:    awsevents.Schedule_Rate(awscdk.Duration_Hours(jsii.Number(s.MaintainEveryHours))),
		Targets: &[]awsevents.IRuleTarget{awseventstargets.NewLambdaFunction(l.Functions["maintain"], &awseventstargets.LambdaFunctionProps{
			RetryAttempts: jsii.Number(0),
		})},
	})
}
