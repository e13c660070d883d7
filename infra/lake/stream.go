package lake

import (
	"fmt"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesis"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskinesisfirehose"
	"github.com/aws/aws-cdk-go/awscdk/v2/awskms"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/shared/archive"
	"github.com/sluicelake/sluice/shared/contract"
)

// Stream is a Kinesis stream producers write to and the Firehose delivery stream that archives
// it into the raw zone.
type Stream struct {
	Kinesis  awskinesis.Stream
	Firehose awskinesisfirehose.CfnDeliveryStream
	Role     awsiam.Role
	Policy   awsiam.Policy
	// ArchivePrefix and ErrorPrefix are the raw-zone key prefixes Firehose writes under.
	ArchivePrefix, ErrorPrefix string
	// Dataset is the dataset the stream carries alone, "" for the shared stream (records name
	// theirs in _dataset); Archived is the dataset its Firehose converts.
	Dataset, Archived string
}

// newStreams makes the shared stream, archiving archived, and a stream of its own for each of
// own, archiving that dataset.
func newStreams(stack awscdk.Stack, s Settings, key awskms.IKey, st *Storage, cat *Catalog, archived *contract.Contract, own []*contract.Contract) (*Stream, map[string]*Stream, error) {
	logGroup := awslogs.NewLogGroup(stack, jsii.String("FirehoseLogs"), &awslogs.LogGroupProps{
		Retention:     retention(s.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	shared, err := newStream(stack, s, key, st, cat, logGroup, archived, "")
	if err != nil {
		return nil, nil, err
	}
	byDataset := map[string]*Stream{}
	for _, c := range own {
		if byDataset[c.Name], err = newStream(stack, s, key, st, cat, logGroup, c, c.Name); err != nil {
			return nil, nil, err
		}
	}
	return shared, byDataset, nil
}

// streamArns are the ARNs of every stream of the lake, the shared one first: what a writer to
// the lake (the producer role, the HTTP ingestion API) may put records on.
func streamArns(l *Lake) []*string {
	arns := []*string{l.Stream.Kinesis.StreamArn()}
	for _, st := range datasetStreams(l) {
		arns = append(arns, st.Kinesis.StreamArn())
	}
	return arns
}

// datasetStreams lists the datasets' own streams, sorted by dataset.
func datasetStreams(l *Lake) []*Stream {
	out := make([]*Stream, 0, len(l.DatasetStreams))
	for _, d := range l.Streams.Datasets() {
		out = append(out, l.DatasetStreams[d])
	}
	return out
}

// DatasetStreamID prefixes the construct ids of a dataset's own stream and its archive
// ("DatasetUserEvents"); the shared stream's have none.
func DatasetStreamID(dataset string) string {
	if dataset == "" {
		return ""
	}
	id := "Dataset"
	for _, part := range strings.FieldsFunc(dataset, func(r rune) bool { return r == '_' || r == '-' || r == '.' }) {
		id += capitalize(part)
	}
	return id
}

func newStream(stack awscdk.Stack, s Settings, key awskms.IKey, st *Storage, cat *Catalog, logGroup awslogs.LogGroup, archived *contract.Contract, dataset string) (*Stream, error) {
	idp := DatasetStreamID(dataset)
	id := func(name string) *string { return jsii.String(idp + name) }
	timestampFormats, err := archive.TimestampFormats(&archived.Fields[archived.EventTime])
	if err != nil {
		return nil, err
	}
	props := &awskinesis.StreamProps{
		Encryption:      awskinesis.StreamEncryption_KMS,
		EncryptionKey:   key,
		RetentionPeriod: awscdk.Duration_Hours(jsii.Number(s.StreamRetentionHours)),
		StreamMode:      awskinesis.StreamMode(s.StreamMode),
		// The stream holds records for hours only (the archive keeps them in S3) and bills for
		// every hour it exists: it goes with the stack, unlike the buckets and the key.
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	}
	if s.StreamMode == "PROVISIONED" {
		props.ShardCount = jsii.Number(s.StreamShards)
	}
	ks := awskinesis.NewStream(stack, id("EventStream"), props)
	logStream := logGroup.AddStream(id("S3Delivery"), nil)

	table := cat.Tables[TableName("raw", archived.Name)]
	role := awsiam.NewRole(stack, id("FirehoseRole"), &awsiam.RoleProps{
		AssumedBy:   awsiam.NewServicePrincipal(jsii.String("firehose.amazonaws.com"), nil),
		Description: jsii.String("sluice Firehose: reads the stream, converts " + archived.Name + " with its Glue schema, writes the raw archive"),
	})
	policy := awsiam.NewPolicy(stack, id("FirehosePolicy"), &awsiam.PolicyProps{
		Roles: &[]awsiam.IRole{role},
		Statements: &[]awsiam.PolicyStatement{
			allow([]string{"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetShardIterator", "kinesis:GetRecords", "kinesis:ListShards"},
				ks.StreamArn()),
			allow([]string{"s3:AbortMultipartUpload", "s3:GetBucketLocation", "s3:GetObject", "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:PutObject"},
				st.Raw.BucketArn(), st.Raw.ArnForObjects(jsii.String(archive.DataPrefix(archived.Name)+"*")), st.Raw.ArnForObjects(jsii.String(archive.ErrorRoot+"*"))),
			allow([]string{"kms:Decrypt", "kms:GenerateDataKey"}, key.KeyArn()),
			allow([]string{"glue:GetTable", "glue:GetTableVersion", "glue:GetTableVersions"},
				glueARN(stack, "catalog"), glueARN(stack, "database/"+cat.Name), glueARN(stack, "table/"+cat.Name+"/"+TableName("raw", archived.Name))),
			allow([]string{"logs:PutLogEvents"}, logGroup.LogGroupArn()), // the group ARN ends in ":*": its streams
		},
	})

	archivePrefix := archive.DataPrefix(archived.Name)
	errorPrefix := archive.ErrorRoot
	fh := awskinesisfirehose.NewCfnDeliveryStream(stack, id("ArchiveDeliveryStream"), &awskinesisfirehose.CfnDeliveryStreamProps{
		DeliveryStreamType: jsii.String("KinesisStreamAsSource"),
		KinesisStreamSourceConfiguration: &awskinesisfirehose.CfnDeliveryStream_KinesisStreamSourceConfigurationProperty{
			KinesisStreamArn: ks.StreamArn(),
			RoleArn:          role.RoleArn(),
		},
		ExtendedS3DestinationConfiguration: &awskinesisfirehose.CfnDeliveryStream_ExtendedS3DestinationConfigurationProperty{
			BucketArn: st.Raw.BucketArn(),
			RoleArn:   role.RoleArn(),
			// Parquet conversion needs a buffer of at least 64 MB; records are partitioned on the
			// event's own time (extracted below), like every other zone.
			BufferingHints: &awskinesisfirehose.CfnDeliveryStream_BufferingHintsProperty{
				IntervalInSeconds: jsii.Number(s.FirehoseBufferSeconds),
				SizeInMBs:         jsii.Number(s.FirehoseBufferMB),
			},
			Prefix:            jsii.String(archive.Prefix(archived.Name)),
			ErrorOutputPrefix: jsii.String(archive.ErrorOutputPrefix),
			CompressionFormat: jsii.String("UNCOMPRESSED"), // Parquet compresses its own pages (Snappy below)
			EncryptionConfiguration: &awskinesisfirehose.CfnDeliveryStream_EncryptionConfigurationProperty{
				KmsEncryptionConfig: &awskinesisfirehose.CfnDeliveryStream_KMSEncryptionConfigProperty{AwskmsKeyArn: key.KeyArn()},
			},
			CloudWatchLoggingOptions: &awskinesisfirehose.CfnDeliveryStream_CloudWatchLoggingOptionsProperty{
				Enabled:       jsii.Bool(true),
				LogGroupName:  logGroup.LogGroupName(),
				LogStreamName: logStream.LogStreamName(),
			},
			DynamicPartitioningConfiguration: &awskinesisfirehose.CfnDeliveryStream_DynamicPartitioningConfigurationProperty{
				Enabled:      jsii.Bool(true),
				RetryOptions: &awskinesisfirehose.CfnDeliveryStream_RetryOptionsProperty{DurationInSeconds: jsii.Number(300)},
			},
			ProcessingConfiguration: &awskinesisfirehose.CfnDeliveryStream_ProcessingConfigurationProperty{
				Enabled: jsii.Bool(true),
				Processors: &[]interface{}{&awskinesisfirehose.CfnDeliveryStream_ProcessorProperty{
					Type: jsii.String("MetadataExtraction"),
					Parameters: &[]interface{}{
						&awskinesisfirehose.CfnDeliveryStream_ProcessorParameterProperty{ParameterName: jsii.String("MetadataExtractionQuery"), ParameterValue: jsii.String(archive.PartitionQuery(archived))},
						&awskinesisfirehose.CfnDeliveryStream_ProcessorParameterProperty{ParameterName: jsii.String("JsonParsingEngine"), ParameterValue: jsii.String(archive.JQEngine)},
					},
				}},
			},
			DataFormatConversionConfiguration: &awskinesisfirehose.CfnDeliveryStream_DataFormatConversionConfigurationProperty{
				Enabled: jsii.Bool(true),
				InputFormatConfiguration: &awskinesisfirehose.CfnDeliveryStream_InputFormatConfigurationProperty{
					// The Hive JSON SerDe with formats generated from the contract's timestamp forms:
					// OpenX reads only UTC ("...Z") times, so records with an offset failed conversion.
					Deserializer: &awskinesisfirehose.CfnDeliveryStream_DeserializerProperty{
						HiveJsonSerDe: &awskinesisfirehose.CfnDeliveryStream_HiveJsonSerDeProperty{TimestampFormats: jsii.Strings(timestampFormats...)},
					},
				},
				OutputFormatConfiguration: &awskinesisfirehose.CfnDeliveryStream_OutputFormatConfigurationProperty{
					Serializer: &awskinesisfirehose.CfnDeliveryStream_SerializerProperty{
						ParquetSerDe: &awskinesisfirehose.CfnDeliveryStream_ParquetSerDeProperty{Compression: jsii.String("SNAPPY")},
					},
				},
				SchemaConfiguration: &awskinesisfirehose.CfnDeliveryStream_SchemaConfigurationProperty{
					CatalogId:    stack.Account(),
					DatabaseName: jsii.String(cat.Name),
					TableName:    jsii.String(TableName("raw", archived.Name)),
					Region:       stack.Region(),
					RoleArn:      role.RoleArn(),
					VersionId:    jsii.String("LATEST"),
				},
			},
		},
	})
	// Firehose checks its permissions when the stream is created.
	fh.Node().AddDependency(policy, table)
	return &Stream{Kinesis: ks, Firehose: fh, Role: role, Policy: policy, ArchivePrefix: archivePrefix, ErrorPrefix: errorPrefix,
		Dataset: dataset, Archived: archived.Name}, nil
}

func allow(actions []string, resources ...*string) awsiam.PolicyStatement {
	return awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
		Actions:   jsii.Strings(actions...),
		Resources: &resources,
	})
}

func glueARN(stack awscdk.Stack, resource string) *string {
	return jsii.String(fmt.Sprintf("arn:%s:glue:%s:%s:%s", *stack.Partition(), *stack.Region(), *stack.Account(), resource))
}

var retentionByDays = map[int]awslogs.RetentionDays{
	1: awslogs.RetentionDays_ONE_DAY, 3: awslogs.RetentionDays_THREE_DAYS, 5: awslogs.RetentionDays_FIVE_DAYS,
	7: awslogs.RetentionDays_ONE_WEEK, 14: awslogs.RetentionDays_TWO_WEEKS, 30: awslogs.RetentionDays_ONE_MONTH,
	60: awslogs.RetentionDays_TWO_MONTHS, 90: awslogs.RetentionDays_THREE_MONTHS, 120: awslogs.RetentionDays_FOUR_MONTHS,
	150: awslogs.RetentionDays_FIVE_MONTHS, 180: awslogs.RetentionDays_SIX_MONTHS, 365: awslogs.RetentionDays_ONE_YEAR,
	400: awslogs.RetentionDays_THIRTEEN_MONTHS, 545: awslogs.RetentionDays_EIGHTEEN_MONTHS, 731: awslogs.RetentionDays_TWO_YEARS,
	1096: awslogs.RetentionDays_THREE_YEARS, 1827: awslogs.RetentionDays_FIVE_YEARS, 2192: awslogs.RetentionDays_SIX_YEARS,
	2557: awslogs.RetentionDays_SEVEN_YEARS, 2922: awslogs.RetentionDays_EIGHT_YEARS, 3288: awslogs.RetentionDays_NINE_YEARS,
	3653: awslogs.RetentionDays_TEN_YEARS,
}

func retention(days int) awslogs.RetentionDays { return retentionByDays[days] }
