package lake

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"
)

// Storage is the lake's buckets: one per zone, plus Athena results, the lineage store and the
// server access logs of all of them.
type Storage struct {
	Raw, Cleansed, Curated, Quarantine awss3.Bucket
	// Consumption holds the summary tables (gold), one folder each, written by summarize.
	Consumption                  awss3.Bucket
	Results, Lineage, AccessLogs awss3.Bucket
	// Audit holds the query API's record of every request (shared/audit).
	Audit awss3.Bucket
}

// Zones are the buckets whose new objects are lineage events (the lineage store is not a zone,
// so the lineage function's own writes cannot trigger it).
func (st *Storage) Zones() []awss3.Bucket {
	return []awss3.Bucket{st.Raw, st.Cleansed, st.Curated, st.Quarantine, st.Consumption}
}

type bucketSpec struct {
	id        string
	versioned bool
	// events turns on EventBridge notifications for the bucket.
	events    bool
	lifecycle []*awss3.LifecycleRule
}

func newStorage(stack awscdk.Stack, s Settings, key awskms.IKey) *Storage {
	days := func(n int) awscdk.Duration { return awscdk.Duration_Days(jsii.Number(n)) }
	abortUploads := &awss3.LifecycleRule{
		Id:                                  jsii.String("abort-incomplete-uploads"),
		AbortIncompleteMultipartUploadAfter: days(7),
	}
	noncurrent := &awss3.LifecycleRule{
		Id:                          jsii.String("expire-noncurrent-versions"),
		NoncurrentVersionExpiration: days(s.NoncurrentExpireDays),
		ExpiredObjectDeleteMarker:   jsii.Bool(true),
	}

	// S3 server access logs can only be delivered to a bucket encrypted with S3-managed keys.
	logs := awss3.NewBucket(stack, jsii.String("AccessLogsBucket"), &awss3.BucketProps{
		Encryption:        awss3.BucketEncryption_S3_MANAGED,
		BlockPublicAccess: awss3.BlockPublicAccess_BLOCK_ALL(),
		EnforceSSL:        jsii.Bool(true),
		MinimumTLSVersion: jsii.Number(1.2),
		ObjectOwnership:   awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
		RemovalPolicy:     awscdk.RemovalPolicy_RETAIN,
		LifecycleRules: &[]*awss3.LifecycleRule{abortUploads, {
			Id:         jsii.String("expire-access-logs"),
			Expiration: days(s.AccessLogsExpireDays),
		}},
	})

	bucket := func(b bucketSpec) awss3.Bucket {
		bk := awss3.NewBucket(stack, jsii.String(b.id), &awss3.BucketProps{
			Encryption:             awss3.BucketEncryption_KMS,
			EncryptionKey:          key,
			BucketKeyEnabled:       jsii.Bool(true),
			BlockPublicAccess:      awss3.BlockPublicAccess_BLOCK_ALL(),
			EnforceSSL:             jsii.Bool(true),
			MinimumTLSVersion:      jsii.Number(1.2),
			ObjectOwnership:        awss3.ObjectOwnership_BUCKET_OWNER_ENFORCED,
			Versioned:              jsii.Bool(b.versioned),
			ServerAccessLogsBucket: logs,
			ServerAccessLogsPrefix: jsii.String(b.id + "/"),
			LifecycleRules:         &b.lifecycle,
			RemovalPolicy:          awscdk.RemovalPolicy_RETAIN,
		})
		if b.events {
			// Set on the L1 resource: the L2 `EventBridgeEnabled` adds a custom-resource Lambda
			// we would have to deploy, secure and suppress for no gain.
			cfn := bk.Node().DefaultChild().(awss3.CfnBucket)
			cfn.AddPropertyOverride(jsii.String("NotificationConfiguration.EventBridgeConfiguration.EventBridgeEnabled"), true)
		}
		return bk
	}
	versionedRules := []*awss3.LifecycleRule{abortUploads, noncurrent}
	return &Storage{
		AccessLogs: logs,
		// The raw zone is the immutable archive: versioned, and tiered to cheaper storage as it ages.
		Raw: bucket(bucketSpec{id: "RawBucket", versioned: true, events: true, lifecycle: []*awss3.LifecycleRule{
			abortUploads, noncurrent, {
				Id: jsii.String("tier-raw"),
				Transitions: &[]*awss3.Transition{
					{StorageClass: awss3.StorageClass_INFREQUENT_ACCESS(), TransitionAfter: days(s.RawInfrequentAccessDays)},
					{StorageClass: awss3.StorageClass_GLACIER_INSTANT_RETRIEVAL(), TransitionAfter: days(s.RawGlacierDays)},
				},
			}}}),
		Cleansed: bucket(bucketSpec{id: "CleansedBucket", versioned: true, events: true, lifecycle: versionedRules}),
		Curated:  bucket(bucketSpec{id: "CuratedBucket", versioned: true, events: true, lifecycle: versionedRules}),
		// A refresh replaces a day's object: versioning keeps the one it replaced.
		Consumption: bucket(bucketSpec{id: "ConsumptionBucket", versioned: true, events: true, lifecycle: versionedRules}),
		Quarantine: bucket(bucketSpec{id: "QuarantineBucket", events: true, lifecycle: []*awss3.LifecycleRule{abortUploads, {
			Id:         jsii.String("expire-quarantine"),
			Expiration: days(s.QuarantineExpireDays),
		}}}),
		Results: bucket(bucketSpec{id: "AthenaResultsBucket", lifecycle: []*awss3.LifecycleRule{abortUploads, {
			Id:         jsii.String("expire-athena-results"),
			Expiration: days(s.ResultsExpireDays),
		}}}),
		Lineage: bucket(bucketSpec{id: "LineageBucket", versioned: true, lifecycle: versionedRules}),
		// Records are written once (If-None-Match) and kept auditRetentionDays; versioning keeps
		// what a delete or overwrite by anyone else would destroy, for as long again.
		Audit: bucket(bucketSpec{id: "AuditBucket", versioned: true, lifecycle: []*awss3.LifecycleRule{abortUploads, {
			Id:                          jsii.String("expire-audit-records"),
			Expiration:                  days(s.AuditRetentionDays),
			NoncurrentVersionExpiration: days(s.AuditRetentionDays),
		}}}),
	}
}
