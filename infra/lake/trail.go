package lake

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudtrail"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// newDataEventsTrail records every object read and write on the zone buckets (and the audit
// trail's own bucket) with CloudTrail, for reads that go around the query API: Athena users,
// scripts with S3 access. Off unless cloudTrailDataEvents is set: data events cost $0.10 per
// 100,000 (the cost note), which at the lake's own traffic is most of the bill.
func newDataEventsTrail(stack awscdk.Stack, s Settings, st *Storage) awscloudtrail.Trail {
	if !s.CloudTrailDataEvents {
		return nil
	}
	// CloudTrail delivers to SSE-S3 or SSE-KMS buckets; SSE-S3 spares the lake key a policy
	// for the CloudTrail service principal. File validation makes tampering evident.
	bucket := awss3.NewBucket(stack, jsii.String("DataEventsTrailBucket"), &awss3.BucketProps{
		Encryption:             awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:             jsii.Bool(true),
		MinimumTLSVersion:      jsii.Number(1.2),
		ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		Versioned:              jsii.Bool(true),
		ServerAccessLogsBucket: st.AccessLogs,
		ServerAccessLogsPrefix: jsii.String("DataEventsTrailBucket/"),
		RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{{
			Id:                          jsii.String("expire-trail"),
			Expiration:                  awscdk.Duration_Days(jsii.Number(s.AuditRetentionDays)),
			NoncurrentVersionExpiration: awscdk.Duration_Days(jsii.Number(s.AuditRetentionDays)),
		}},
	})
	trail := awscloudtrail.NewTrail(stack, jsii.String("DataEventsTrail"), &awscloudtrail.TrailProps{
		Bucket:                     bucket,
		EnableFileValidation:       jsii.Bool(true),
		IncludeGlobalServiceEvents: jsii.Bool(false),
		IsMultiRegionTrail:         jsii.Bool(false),
		ManagementEvents:           awscloudtrail.ReadWriteType_NONE,
	})
	var selectors []*awscloudtrail.S3EventSelector
	for _, b := range append(st.Zones(), st.Audit) {
		selectors = append(selectors, &awscloudtrail.S3EventSelector{Bucket: b})
	}
	trail.AddS3EventSelector(&selectors, &awscloudtrail.AddEventSelectorOptions{
		ReadWriteType:           awscloudtrail.ReadWriteType_ALL,
		IncludeManagementEvents: jsii.Bool(false),
	})
	return trail
}
