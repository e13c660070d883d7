package lakehost

import (
	"fmt"
	"github.com/sluicelake/sluice/shared/envvar"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/sluicelake/sluice/localstack/iampolicy"
	"github.com/sluicelake/sluice/localstack/s3iam"
	"github.com/sluicelake/sluice/shared/lineage/table"
	"github.com/sluicelake/sluice/shared/zone"
)

// roleTemplate is what the host keeps of the template (an alias, so that lakehost.go need not
// import iampolicy).
type roleTemplate = iampolicy.Template

// LocalAccount is the account id the local lake stands in for in ARNs.
const LocalAccount = "000000000000"

// resourceEnv is what the functions are told about the lake's resources, by variable: the
// same variables the template sets from its buckets and stream, which is how the template's
// resources are matched to local ones.
func (l *Lake) resourceEnv() map[string]string {
	return map[string]string{
		envvar.RawBucket:         Buckets[zone.Raw],
		envvar.CleansedBucket:    Buckets[zone.Cleansed],
		envvar.CuratedBucket:     Buckets[zone.Curated],
		envvar.QuarantineBucket:  Buckets[zone.Quarantine],
		envvar.ConsumptionBucket: Buckets[zone.Consumption],
		envvar.LineageBucket:     Buckets[table.Zone],
		envvar.StreamName:        l.cfg.Stream,
	}
}

func (l *Lake) resourceEnvList() []string {
	var out []string
	for k, v := range l.resourceEnv() {
		out = append(out, k+"="+v)
	}
	return out
}

// enforce reads the template and starts the IAM front before target (the S3 stand-in, or what
// S3Endpoint put in front of it); the event tap then forwards to the front.
func (l *Lake) enforce(target string) error {
	tpl, err := iampolicy.LoadTemplate(l.cfg.Template, iampolicy.Locals{Env: l.resourceEnv(), Region: l.S3.Region, Account: LocalAccount})
	if err != nil {
		return err
	}
	logger := slog.New(slog.NewTextHandler(l.cfg.Logs, nil))
	for _, n := range tpl.Notes {
		logger.Warn("IAM template: " + n)
	}
	l.template = tpl
	if err := l.checkStreamRead(tpl); err != nil {
		return err
	}
	ids := map[string]s3iam.Identity{}
	for _, fn := range tpl.Functions() {
		ids[accessKeyOf(fn)] = s3iam.Identity{
			Name:      fn,
			Principal: fmt.Sprintf("arn:aws:sts::%s:assumed-role/%s/sluice-%s", LocalAccount, tpl.RoleNames[fn], fn),
			Policies:  tpl.Policies[fn],
		}
	}
	l.IAM, err = s3iam.Start(s3iam.Config{Target: target, AccessKey: l.S3.AccessKey, SecretKey: l.S3.SecretKey, Region: l.S3.Region,
		Identities: ids, KMSBuckets: tpl.KMSBuckets, Logger: logger})
	if err != nil {
		return fmt.Errorf("start the IAM front: %w", err)
	}
	l.closers = append(l.closers, l.IAM.Close)
	return nil
}

// streamReadActions are what Lambda's event source mapping calls on a Kinesis stream with the
// function's execution role (Lambda's guide lists them for a standard iterator).
var streamReadActions = []string{"kinesis:DescribeStream", "kinesis:DescribeStreamSummary", "kinesis:GetRecords", "kinesis:GetShardIterator", "kinesis:ListShards"}

// checkStreamRead refuses, as Lambda refuses to create the mapping, an ingest role that may not
// read the stream. The mapping itself then reads with the host's credentials: kinesis-local
// checks none, so this is the one Kinesis check made.
func (l *Lake) checkStreamRead(tpl *iampolicy.Template) error {
	policies, ok := tpl.Policies["ingest"]
	if !ok {
		return nil // credentialsOf says what is missing
	}
	stream := fmt.Sprintf("arn:aws:kinesis:%s:%s:stream/%s", l.S3.Region, LocalAccount, l.cfg.Stream)
	for _, a := range streamReadActions {
		if res := iampolicy.Evaluate(policies, iampolicy.Request{Action: a, Resource: stream}); !res.Allowed() {
			return fmt.Errorf("the event source mapping cannot read %s: ingest's role in %s does not allow %s on it (%s), and Lambda needs %v",
				stream, l.cfg.Template, a, res.Decision, streamReadActions)
		}
	}
	return nil
}

// accessKeyOf is the access key id a function's role session signs with locally.
func accessKeyOf(fn string) string { return "sluice-" + fn }

// credentialsOf is what a function instance runs under: the stand-in's own credentials
// without enforcement, its role's otherwise. Instances of one function (lineage-curated ...)
// share the function's role.
func (l *Lake) credentialsOf(instance string) (accessKey, secret string, err error) {
	if l.IAM == nil {
		return l.S3.AccessKey, l.S3.SecretKey, nil
	}
	fn, _, _ := strings.Cut(instance, "-")
	if _, ok := l.template.Policies[fn]; !ok {
		return "", "", fmt.Errorf("the template %s has no function %q (its logical ID would be %sFunction…): synthesize it from this checkout (make synth)",
			l.cfg.Template, fn, strings.ToUpper(fn[:1])+fn[1:])
	}
	// The front tells callers by access key id only; the secret is never checked by it.
	return accessKeyOf(fn), "local-secret-" + fn, nil
}

// adminClient is an S3 client with the stand-in's own credentials (authorized for anything)
// on endpoint.
func (l *Lake) adminClient(endpoint string) *s3.Client {
	return s3.NewFromConfig(aws.Config{Region: l.S3.Region, Credentials: credentials.NewStaticCredentialsProvider(l.S3.AccessKey, l.S3.SecretKey, ""),
		HTTPClient: awshttp.NewBuildableClient()}, func(o *s3.Options) {
		o.BaseEndpoint = aws.String(endpoint)
		o.UsePathStyle = true
		o.DisableLogOutputChecksumValidationSkipped = true // stand-ins send no checksums
	})
}

// Denials are the S3 requests the IAM front refused, oldest first (none without a template).
func (l *Lake) Denials() []s3iam.Denial {
	if l.IAM == nil {
		return nil
	}
	return l.IAM.Denials()
}
