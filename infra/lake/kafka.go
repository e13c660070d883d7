package lake

import (
	"encoding/json"
	"fmt"
	"hash/crc32"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambdaeventsources"
	"github.com/aws/jsii-runtime-go"
)

// KafkaSettings configure Kafka as a source of ingest (off unless topics are named). Either an
// Amazon MSK cluster (kafkaClusterArn) or a self-managed cluster (kafkaBootstrapServers).
type KafkaSettings struct {
	ClusterARN       string            // kafkaClusterArn: an MSK cluster (provisioned or serverless)
	BootstrapServers []string          // kafkaBootstrapServers: host:port of a self-managed cluster, comma-separated
	Topics           map[string]string // kafkaTopics: topic=dataset,... (or a JSON object in cdk.json)
	SchemaIDs        map[string]string // kafkaSchemaIds: schemaId=dataset[@contract version],... for Avro in the Confluent wire format
	Auth             string            // kafkaAuth: IAM (MSK only), SASL_SCRAM_512, SASL_SCRAM_256, or NONE (only inside a VPC)
	SecretARN        string            // kafkaSecretArn: the Secrets Manager secret holding the SASL/SCRAM username and password
	SecretKeyARN     string            // kafkaSecretKeyArn: the customer KMS key the secret is encrypted with, when not the AWS managed one
	Subnets          []string          // kafkaSubnetIds: subnets Lambda reaches a self-managed cluster from (MSK: the cluster's own)
	SecurityGroups   []string          // kafkaSecurityGroupIds: security groups for those subnets
	VpcID            string            // kafkaVpcId: the VPC of those subnets (for the EC2 network-interface permissions)
	BatchSize        int               // kafkaBatchSize: records per invocation (1-10000; the 6 MB event cap applies)
	BatchWindowSecs  int               // kafkaBatchWindowSeconds: how long Lambda gathers records (0-300)
	StartingPosition string            // kafkaStartingPosition: TRIM_HORIZON or LATEST, for a new consumer group
	ConsumerGroupID  string            // kafkaConsumerGroupId: the consumer group (default sluice-<stage>-ingest)
}

// KafkaDefaults are the Kafka settings when the context names none: off.
var KafkaDefaults = KafkaSettings{BatchSize: 500, BatchWindowSecs: 5, StartingPosition: "TRIM_HORIZON"}

// Enabled says whether the stack reads Kafka at all.
func (k KafkaSettings) Enabled() bool { return len(k.Topics) > 0 }

// MSK says whether the cluster is Amazon MSK.
func (k KafkaSettings) MSK() bool { return k.ClusterARN != "" }

// TopicsJSON and SchemaIDsJSON are the values of ingest's SLUICE_KAFKA_TOPICS and
// SLUICE_KAFKA_SCHEMA_IDS ("" when unset); encoding/json sorts keys, so the template is stable.
func (k KafkaSettings) TopicsJSON() string    { return jsonOrEmpty(k.Topics) }
func (k KafkaSettings) SchemaIDsJSON() string { return jsonOrEmpty(k.SchemaIDs) }

func jsonOrEmpty(m map[string]string) string {
	if len(m) == 0 {
		return ""
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// SortedTopics lists the topics, sorted.
func (k KafkaSettings) SortedTopics() []string {
	out := make([]string, 0, len(k.Topics))
	for t := range k.Topics {
		out = append(out, t)
	}
	sort.Strings(out)
	return out
}

func readKafka(r *ctxReader, k *KafkaSettings) {
	r.str("kafkaClusterArn", &k.ClusterARN)
	r.list("kafkaBootstrapServers", &k.BootstrapServers)
	r.pairs("kafkaTopics", &k.Topics)
	r.pairs("kafkaSchemaIds", &k.SchemaIDs)
	r.str("kafkaAuth", &k.Auth)
	r.str("kafkaSecretArn", &k.SecretARN)
	r.str("kafkaSecretKeyArn", &k.SecretKeyARN)
	r.list("kafkaSubnetIds", &k.Subnets)
	r.list("kafkaSecurityGroupIds", &k.SecurityGroups)
	r.str("kafkaVpcId", &k.VpcID)
	r.num("kafkaBatchSize", &k.BatchSize)
	r.num("kafkaBatchWindowSeconds", &k.BatchWindowSecs)
	r.str("kafkaStartingPosition", &k.StartingPosition)
	r.str("kafkaConsumerGroupId", &k.ConsumerGroupID)
	if k.Auth == "" && k.ClusterARN != "" {
		k.Auth = "IAM" // MSK's own, and no secret to rotate
	}
}

// pairs reads a map given as a JSON object (cdk.json) or as "key=value,key=value" (-c).
func (r *ctxReader) pairs(key string, dst *map[string]string) bool {
	v, ok := r.get(key)
	if !ok {
		return false
	}
	out := map[string]string{}
	fail := func() {
		if r.err == nil {
			r.err = fmt.Errorf("context %s=%v: want key=value pairs, comma-separated, or a JSON object of strings", key, v)
		}
	}
	switch m := v.(type) {
	case map[string]any:
		for k, x := range m {
			s, ok := x.(string)
			if !ok {
				fail()
			}
			out[k] = s
		}
	case string:
		if strings.HasPrefix(strings.TrimSpace(m), "{") {
			if err := json.Unmarshal([]byte(m), &out); err != nil {
				fail()
			}
			break
		}
		for _, e := range strings.Split(m, ",") {
			if e = strings.TrimSpace(e); e == "" {
				continue
			}
			k, v, ok := strings.Cut(e, "=")
			if !ok || strings.TrimSpace(k) == "" || strings.TrimSpace(v) == "" {
				fail()
				continue
			}
			out[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	default:
		fail()
	}
	*dst = out
	return true
}

var (
	mskARN       = regexp.MustCompile(`^arn:aws[a-z-]*:kafka:[a-z0-9-]+:\d{12}:cluster/[A-Za-z0-9-]+/[A-Za-z0-9-]+$`)
	secretARN    = regexp.MustCompile(`^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$`)
	kmsKeyARN    = regexp.MustCompile(`^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/.+$`)
	topicPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,249}$`) // Kafka's own rule for topic names
	hostPort     = regexp.MustCompile(`^[A-Za-z0-9.-]+:\d{1,5}$`)
)

// validate reports the first Kafka setting that cannot work, naming its context key. datasets
// are the contracts' names (nil: not checked).
func (k KafkaSettings) validate(datasets []string) error {
	bad := func(key string, v any, want string) error {
		return fmt.Errorf("context %s=%v: %s (set it in infra/cdk.json or with -c %s=...)", key, v, want, key)
	}
	set := k.ClusterARN != "" || len(k.BootstrapServers) > 0 || len(k.SchemaIDs) > 0 || k.SecretARN != "" || len(k.Subnets) > 0
	if !k.Enabled() {
		if set {
			return bad("kafkaTopics", "", "name the topics to read (topic=dataset,...): the other kafka* settings do nothing without them")
		}
		return nil
	}
	for t, ds := range k.Topics {
		if !topicPattern.MatchString(t) {
			return bad("kafkaTopics", t, "a topic name is 1-249 letters, digits, '.', '_' or '-'")
		}
		if datasets != nil && !slices.Contains(datasets, ds) {
			return bad("kafkaTopics", t+"="+ds, fmt.Sprintf("the dataset must have a contract in events/ (%s)", strings.Join(datasets, ", ")))
		}
	}
	for id, ds := range k.SchemaIDs {
		if _, err := strconv.ParseUint(id, 10, 32); err != nil {
			return bad("kafkaSchemaIds", id, "a schema id is a decimal number as the schema registry gives it")
		}
		name, _, _ := strings.Cut(ds, "@")
		if datasets != nil && !slices.Contains(datasets, name) {
			return bad("kafkaSchemaIds", id+"="+ds, fmt.Sprintf("the dataset must have a contract in events/ (%s)", strings.Join(datasets, ", ")))
		}
	}
	switch {
	case (k.ClusterARN == "") == (len(k.BootstrapServers) == 0):
		return bad("kafkaClusterArn", k.ClusterARN, "name exactly one cluster: an MSK cluster ARN, or kafkaBootstrapServers of a self-managed one")
	case k.MSK() && !mskARN.MatchString(k.ClusterARN):
		return bad("kafkaClusterArn", k.ClusterARN, "want arn:aws:kafka:<region>:<account>:cluster/<name>/<uuid>")
	case !slices.Contains([]string{"IAM", "SASL_SCRAM_512", "SASL_SCRAM_256", "NONE"}, k.Auth):
		return bad("kafkaAuth", k.Auth, "want IAM (MSK), SASL_SCRAM_512, SASL_SCRAM_256 or NONE")
	case k.Auth == "IAM" && !k.MSK():
		return bad("kafkaAuth", k.Auth, "IAM authentication is MSK's: a self-managed cluster takes SASL_SCRAM_512 or SASL_SCRAM_256")
	case k.MSK() && k.Auth == "SASL_SCRAM_256":
		return bad("kafkaAuth", k.Auth, "MSK supports SCRAM-SHA-512 only: want SASL_SCRAM_512")
	case strings.HasPrefix(k.Auth, "SASL_SCRAM") && !secretARN.MatchString(k.SecretARN):
		return bad("kafkaSecretArn", k.SecretARN, "SASL/SCRAM needs the ARN of the Secrets Manager secret with the username and password")
	case !strings.HasPrefix(k.Auth, "SASL_SCRAM") && k.SecretARN != "":
		return bad("kafkaSecretArn", k.SecretARN, "a secret is read only with SASL_SCRAM_512 or SASL_SCRAM_256 authentication")
	case k.SecretKeyARN != "" && !kmsKeyARN.MatchString(k.SecretKeyARN):
		return bad("kafkaSecretKeyArn", k.SecretKeyARN, "want arn:aws:kms:<region>:<account>:key/<id>")
	case k.MSK() && (len(k.Subnets) > 0 || len(k.SecurityGroups) > 0):
		return bad("kafkaSubnetIds", strings.Join(k.Subnets, ","), "Lambda reaches an MSK cluster through the cluster's own subnets and security groups: leave these unset")
	case !k.MSK() && k.Auth == "NONE" && len(k.Subnets) == 0:
		return bad("kafkaAuth", k.Auth, "an unauthenticated self-managed cluster must be reached inside a VPC: set kafkaSubnetIds, kafkaSecurityGroupIds and kafkaVpcId")
	case (len(k.Subnets) > 0) != (len(k.SecurityGroups) > 0) || (len(k.Subnets) > 0) != (k.VpcID != ""):
		return bad("kafkaSubnetIds", strings.Join(k.Subnets, ","), "a VPC needs kafkaSubnetIds, kafkaSecurityGroupIds and kafkaVpcId together")
	case k.BatchSize < 1 || k.BatchSize > 10000:
		return bad("kafkaBatchSize", k.BatchSize, "want 1 to 10000")
	case k.BatchWindowSecs < 0 || k.BatchWindowSecs > 300:
		return bad("kafkaBatchWindowSeconds", k.BatchWindowSecs, "want 0 to 300")
	case k.StartingPosition != "TRIM_HORIZON" && k.StartingPosition != "LATEST":
		return bad("kafkaStartingPosition", k.StartingPosition, "want TRIM_HORIZON or LATEST")
	}
	for _, s := range k.BootstrapServers {
		if !hostPort.MatchString(s) {
			return bad("kafkaBootstrapServers", s, "want host:port, comma-separated")
		}
	}
	for _, s := range k.Subnets {
		if !strings.HasPrefix(s, "subnet-") {
			return bad("kafkaSubnetIds", s, "want subnet-... ids")
		}
	}
	for _, s := range k.SecurityGroups {
		if !strings.HasPrefix(s, "sg-") {
			return bad("kafkaSecurityGroupIds", s, "want sg-... ids")
		}
	}
	if k.VpcID != "" && !strings.HasPrefix(k.VpcID, "vpc-") {
		return bad("kafkaVpcId", k.VpcID, "want a vpc-... id")
	}
	return nil
}

// kafkaPaths splits an MSK cluster ARN into its prefix (arn:...:kafka:<region>:<account>) and
// "<name>/<uuid>", from which MSK names its topics' and groups' ARNs.
func kafkaPaths(clusterARN string) (prefix, cluster string) {
	i := strings.Index(clusterARN, ":cluster/")
	return clusterARN[:i], clusterARN[i+len(":cluster/"):]
}

// ConsumerGroup is the consumer group of a topic's mapping: one per mapping, as Lambda wants a
// group to belong to one mapping.
func (k KafkaSettings) ConsumerGroup(stage, topic string) string {
	base := k.ConsumerGroupID
	if base == "" {
		base = "sluice-" + stage + "-ingest"
	}
	return base + "-" + topic
}

// newKafkaSource adds an event source mapping per topic to ingest, with the lake's ingest
// dead-letter queue as its on-failure destination, and grants ingest's role exactly what Lambda
// needs to read those topics.
func newKafkaSource(stack awscdk.Stack, s Settings, l *Lake) {
	k := s.Kafka
	fn := l.Functions["ingest"]
	role := fn.Role()
	var access []*awslambda.SourceAccessConfiguration
	if strings.HasPrefix(k.Auth, "SASL_SCRAM") {
		typ := awslambda.SourceAccessConfigurationType_SASL_SCRAM_512_AUTH()
		if k.Auth == "SASL_SCRAM_256" {
			typ = awslambda.SourceAccessConfigurationType_SASL_SCRAM_256_AUTH()
		}
		access = append(access, &awslambda.SourceAccessConfiguration{Type: typ, Uri: jsii.String(k.SecretARN)})
		role.AddToPrincipalPolicy(allow([]string{"secretsmanager:GetSecretValue"}, jsii.String(k.SecretARN)))
		if k.SecretKeyARN != "" {
			role.AddToPrincipalPolicy(allow([]string{"kms:Decrypt"}, jsii.String(k.SecretKeyARN)))
		}
	}
	for _, subnet := range k.Subnets {
		access = append(access, &awslambda.SourceAccessConfiguration{Type: awslambda.SourceAccessConfigurationType_VPC_SUBNET(), Uri: jsii.String("subnet:" + subnet)})
	}
	for _, sg := range k.SecurityGroups {
		access = append(access, &awslambda.SourceAccessConfiguration{Type: awslambda.SourceAccessConfigurationType_VPC_SECURITY_GROUP(), Uri: jsii.String("security_group:" + sg)})
	}
	if k.MSK() || len(k.Subnets) > 0 {
		// Lambda's pollers reach the cluster through network interfaces it creates in the
		// cluster's (or the given) subnets, under the function's role.
		role.AddToPrincipalPolicy(allow([]string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
			"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"}, jsii.String("*")))
	}
	topics := k.SortedTopics()
	if k.MSK() {
		prefix, cluster := kafkaPaths(k.ClusterARN)
		role.AddToPrincipalPolicy(allow([]string{"kafka:DescribeCluster", "kafka:DescribeClusterV2", "kafka:GetBootstrapBrokers"}, jsii.String(k.ClusterARN)))
		if k.Auth == "IAM" {
			var topicARNs, groupARNs []*string
			for _, t := range topics {
				topicARNs = append(topicARNs, jsii.String(prefix+":topic/"+cluster+"/"+t))
				groupARNs = append(groupARNs, jsii.String(prefix+":group/"+cluster+"/"+k.ConsumerGroup(s.Stage, t)))
			}
			role.AddToPrincipalPolicy(allow([]string{"kafka-cluster:Connect", "kafka-cluster:DescribeClusterDynamicConfiguration"}, jsii.String(k.ClusterARN)))
			role.AddToPrincipalPolicy(allow([]string{"kafka-cluster:DescribeTopic", "kafka-cluster:ReadData"}, topicARNs...))
			role.AddToPrincipalPolicy(allow([]string{"kafka-cluster:DescribeGroup", "kafka-cluster:AlterGroup"}, groupARNs...))
		}
	}
	dlq := l.Queues["ingest"].DLQ
	for _, t := range topics {
		opts := &awslambda.EventSourceMappingOptions{
			KafkaTopic:           jsii.String(t),
			KafkaConsumerGroupId: jsii.String(k.ConsumerGroup(s.Stage, t)),
			StartingPosition:     awslambda.StartingPosition(k.StartingPosition),
			BatchSize:            jsii.Number(k.BatchSize),
			MaxBatchingWindow:    awscdk.Duration_Seconds(jsii.Number(k.BatchWindowSecs)),
			// A batch the function cannot write (it fails the batch whole) is retried; with an
			// on-failure destination Lambda stops after 10 retries and sends the batch's topic,
			// partitions and offsets here, to be replayed with the same object names.
			OnFailure: awslambdaeventsources.NewSqsDlq(dlq),
		}
		if len(access) > 0 {
			opts.SourceAccessConfigurations = &access
		}
		if k.MSK() {
			opts.EventSourceArn = jsii.String(k.ClusterARN)
		} else {
			opts.KafkaBootstrapServers = jsii.Strings(k.BootstrapServers...)
		}
		fn.AddEventSourceMapping(jsii.String("Kafka"+topicID(t)), opts)
	}
	dlq.GrantSendMessages(role)
	suppress(role, true, suppression{"AwsSolutions-IAM5",
		"Lambda's Kafka pollers create and describe network interfaces in the cluster's subnets; these EC2 actions support no resource-level permissions (AWS's AWSLambdaMSKExecutionRole grants them on *).",
		[]string{`/^Resource::\*$/`}})
}

// topicID turns a topic name into a construct id part: letters and digits only, plus a hash
// of the name, so that topics differing only in punctuation stay apart.
func topicID(topic string) string {
	var b strings.Builder
	for _, r := range topic {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return fmt.Sprintf("%s%08x", b.String(), crc32.ChecksumIEEE([]byte(topic)))
}
