package lake_test

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/sluicelake/sluice/infra/lake"
	"github.com/sluicelake/sluice/shared/envvar"
	"github.com/sluicelake/sluice/shared/tooltest"
)

const mskARN = "arn:aws:kafka:us-east-1:111122223333:cluster/orders/0123abcd-4567-89ef-0123-456789abcdef-2"

// policyOf is what the ingest role may do: each action → the resources it is allowed on, as
// JSON text, sorted (minimizePolicies merges statements, so actions are compared one by one).
func policyOf(t *testing.T, s *synthesized) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, p := range s.resources("AWS::IAM::Policy") {
		if !strings.Contains(toJSON(prop(p, "Roles")), "IngestRole") {
			continue
		}
		for _, st := range prop(p, "PolicyDocument", "Statement").([]interface{}) {
			m := st.(map[string]interface{})
			var rs []string
			if l, ok := m["Resource"].([]interface{}); ok {
				for _, r := range l {
					rs = append(rs, toJSON(r))
				}
			} else {
				rs = []string{toJSON(m["Resource"])}
			}
			for _, a := range strs(m["Action"]) {
				out[a] = append(out[a], rs...)
				sort.Strings(out[a])
			}
		}
	}
	return out
}

func mappings(s *synthesized) []map[string]interface{} {
	var out []map[string]interface{}
	for _, r := range s.resources("AWS::Lambda::EventSourceMapping") {
		if prop(r, "Topics") != nil {
			out = append(out, r)
		}
	}
	return out
}

// An MSK cluster with IAM authentication: a mapping per topic with its own consumer group and
// the ingest dead-letter queue as on-failure destination; the role may read exactly those
// topics and groups of that cluster; cdk-nag has nothing left to say.
func TestKafkaMSKWithIAM(t *testing.T) {
	s := synth(t, shipped(t), map[string]interface{}{
		"kafkaClusterArn": mskARN, "kafkaTopics": "orders.v1=customers,clicks=user_events", "kafkaSchemaIds": "7=customers",
	})
	if len(s.nag) > 0 {
		t.Fatalf("cdk-nag: %v", s.nag)
	}
	ms := mappings(s)
	if len(ms) != 2 {
		t.Fatalf("%d Kafka mappings, want one per topic", len(ms))
	}
	for _, m := range ms {
		topic := strs(prop(m, "Topics"))[0]
		group := prop(m, "AmazonManagedKafkaEventSourceConfig", "ConsumerGroupId")
		if prop(m, "EventSourceArn") != mskARN || group != "sluice-dev-ingest-"+topic || prop(m, "StartingPosition") != "TRIM_HORIZON" ||
			prop(m, "BatchSize") != float64(500) || prop(m, "MaximumBatchingWindowInSeconds") != float64(5) {
			t.Errorf("mapping %s: %s", topic, toJSON(m["Properties"]))
		}
		ids := map[string]bool{}
		refs(prop(m, "DestinationConfig", "OnFailure", "Destination"), ids, nil)
		if !ids["IngestDLQ"] {
			t.Errorf("mapping %s: on-failure destination %v, want the ingest DLQ", topic, prop(m, "DestinationConfig"))
		}
	}
	p := policyOf(t, s)
	prefix := "arn:aws:kafka:us-east-1:111122223333:"
	cluster := []string{`"` + mskARN + `"`}
	topics := []string{`"` + prefix + `topic/orders/0123abcd-4567-89ef-0123-456789abcdef-2/clicks"`, `"` + prefix + `topic/orders/0123abcd-4567-89ef-0123-456789abcdef-2/orders.v1"`}
	groups := []string{`"` + prefix + `group/orders/0123abcd-4567-89ef-0123-456789abcdef-2/sluice-dev-ingest-clicks"`, `"` + prefix + `group/orders/0123abcd-4567-89ef-0123-456789abcdef-2/sluice-dev-ingest-orders.v1"`}
	want := map[string][]string{
		"kafka-cluster:AlterGroup": groups, "kafka-cluster:DescribeGroup": groups,
		"kafka-cluster:DescribeTopic": topics, "kafka-cluster:ReadData": topics,
		"kafka-cluster:Connect": cluster, "kafka-cluster:DescribeClusterDynamicConfiguration": cluster,
		"kafka:DescribeCluster": cluster, "kafka:DescribeClusterV2": cluster, "kafka:GetBootstrapBrokers": cluster,
		"ec2:CreateNetworkInterface": {`"*"`}, "ec2:DescribeSubnets": {`"*"`},
	}
	for act, res := range want {
		if !slices.Equal(p[act], res) {
			t.Errorf("%s on %v, want %v", act, p[act], res)
		}
	}
	for acts := range p {
		if strings.Contains(acts, "secretsmanager") {
			t.Errorf("IAM authentication reads no secret, yet the role may %s", acts)
		}
	}
	env := prop(s.one(t, "AWS::Lambda::Function", lake.FunctionLogicalID("ingest")), "Environment", "Variables").(map[string]interface{})
	if env[envvar.KafkaTopics] != `{"clicks":"user_events","orders.v1":"customers"}` || env[envvar.KafkaSchemaIDs] != `{"7":"customers"}` {
		t.Errorf("ingest environment %v", env)
	}
	cfnLint(t, s)
}

// A self-managed cluster with SASL/SCRAM in a VPC: the secret and subnets reach the mapping,
// the role may read that one secret.
func TestKafkaSelfManagedWithSCRAM(t *testing.T) {
	secret := "arn:aws:secretsmanager:us-east-1:111122223333:secret:kafka-ingest-AbCdEf"
	s := synth(t, shipped(t), map[string]interface{}{
		"kafkaBootstrapServers": "kafka-1.internal:9096,kafka-2.internal:9096", "kafkaTopics": "clicks=user_events",
		"kafkaAuth": "SASL_SCRAM_512", "kafkaSecretArn": secret,
		"kafkaSubnetIds": "subnet-0a1,subnet-0b2", "kafkaSecurityGroupIds": "sg-0c3", "kafkaVpcId": "vpc-0d4",
	})
	if len(s.nag) > 0 {
		t.Fatalf("cdk-nag: %v", s.nag)
	}
	ms := mappings(s)
	if len(ms) != 1 {
		t.Fatalf("%d Kafka mappings, want 1", len(ms))
	}
	m := ms[0]
	got := toJSON(prop(m, "SourceAccessConfigurations"))
	for _, w := range []string{`"Type":"SASL_SCRAM_512_AUTH","URI":"` + secret + `"`, `"Type":"VPC_SUBNET","URI":"subnet:subnet-0a1"`, `"Type":"VPC_SECURITY_GROUP","URI":"security_group:sg-0c3"`} {
		if !strings.Contains(got, w) {
			t.Errorf("source access %s lacks %s", got, w)
		}
	}
	if toJSON(prop(m, "SelfManagedEventSource", "Endpoints", "KafkaBootstrapServers")) != `["kafka-1.internal:9096","kafka-2.internal:9096"]` {
		t.Errorf("endpoints %s", toJSON(prop(m, "SelfManagedEventSource")))
	}
	if p := policyOf(t, s); !slices.Equal(p["secretsmanager:GetSecretValue"], []string{`"` + secret + `"`}) {
		t.Errorf("secret read on %v", p["secretsmanager:GetSecretValue"])
	}
	cfnLint(t, s)
}

// Off by default: no Kafka mapping, no Kafka permission, empty variables.
func TestKafkaOffByDefault(t *testing.T) {
	s := defaultSynth(t)
	if len(mappings(s)) != 0 {
		t.Error("a Kafka mapping without kafkaTopics")
	}
	for acts := range policyOf(t, s) {
		if strings.Contains(acts, "kafka") || strings.Contains(acts, "ec2:") {
			t.Errorf("the ingest role may %s without Kafka", acts)
		}
	}
}

func TestKafkaSettingsNameTheKey(t *testing.T) {
	for key, ctx := range map[string]map[string]interface{}{
		"kafkaTopics":           {"kafkaClusterArn": mskARN},
		"kafkaClusterArn":       {"kafkaTopics": "a=customers"},
		"kafkaAuth":             {"kafkaTopics": "a=customers", "kafkaBootstrapServers": "k:9092", "kafkaAuth": "IAM"},
		"kafkaSecretArn":        {"kafkaTopics": "a=customers", "kafkaBootstrapServers": "k:9092", "kafkaAuth": "SASL_SCRAM_512"},
		"kafkaSubnetIds":        {"kafkaTopics": "a=customers", "kafkaClusterArn": mskARN, "kafkaSubnetIds": "subnet-1"},
		"kafkaBatchSize":        {"kafkaTopics": "a=customers", "kafkaClusterArn": mskARN, "kafkaBatchSize": "20000"},
		"kafkaStartingPosition": {"kafkaTopics": "a=customers", "kafkaClusterArn": mskARN, "kafkaStartingPosition": "AT_TIMESTAMP"},
		"kafkaBootstrapServers": {"kafkaTopics": "a=customers", "kafkaBootstrapServers": "k", "kafkaAuth": "SASL_SCRAM_256",
			"kafkaSecretArn": "arn:aws:secretsmanager:us-east-1:111122223333:secret:x"},
	} {
		_, err := settingsFrom(t, ctx)
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%v: error %v, want one naming %s", ctx, err, key)
		}
	}
	// A dataset without a contract is refused when the stack is built.
	s, err := settingsFrom(t, map[string]interface{}{"kafkaTopics": "a=orders", "kafkaClusterArn": mskARN})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := lake.NewStack(nil, "x", &lake.Props{Settings: s, Contracts: shipped(t)}); err == nil || !strings.Contains(err.Error(), "kafkaTopics") {
		t.Errorf("a topic of dataset orders: %v", err)
	}
}

// cfnLint runs cfn-lint over the synthesized template, as `make infra-lint` does.
func cfnLint(t *testing.T, s *synthesized) {
	t.Helper()
	bin := tooltest.Path(t, "cfn-lint")
	path := filepath.Join(t.TempDir(), "template.json")
	b, _ := json.Marshal(s.json)
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "--ignore-checks", "W3005", "--", path).CombinedOutput(); err != nil {
		t.Errorf("cfn-lint: %v\n%s", err, out)
	}
}
