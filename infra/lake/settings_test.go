package lake_test

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/infra/lake"
)

func settingsFrom(t *testing.T, ctx map[string]interface{}) (lake.Settings, error) {
	t.Helper()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
	return lake.SettingsFromContext(app.Node())
}

func TestCdkJSONHoldsTheDefaults(t *testing.T) {
	s, err := settingsFrom(t, cdkContext(t))
	if err != nil {
		t.Fatal(err)
	}
	d := lake.Defaults
	d.APIPrincipals = nil
	if s.Stage != d.Stage || s.LogRetentionDays != d.LogRetentionDays || s.BytesScannedCutoff != d.BytesScannedCutoff ||
		s.StreamMode != d.StreamMode || s.ArchiveDataset != d.ArchiveDataset || s.RawSQL != d.RawSQL ||
		s.QuarantineExpireDays != d.QuarantineExpireDays || s.ResultsExpireDays != d.ResultsExpireDays ||
		s.ProjectionStart != d.ProjectionStart || s.PromoteMaxConcurrency != d.PromoteMaxConcurrency || s.ProducerPrincipals != nil ||
		s.MaintainEveryHours != d.MaintainEveryHours || s.MaintainKeepDays != d.MaintainKeepDays ||
		s.MaintainKeepSnapshots != d.MaintainKeepSnapshots || s.MaintainOrphanAgeHours != d.MaintainOrphanAgeHours ||
		s.EraseGrace != d.EraseGrace {
		t.Errorf("cdk.json's context %+v differs from lake.Defaults %+v: keep the README table, cdk.json and Defaults in step", s, d)
	}
}

func TestCommandLineContextIsParsed(t *testing.T) {
	// `cdk deploy -c key=value` delivers strings.
	s, err := settingsFrom(t, map[string]interface{}{
		"stage": "prod", "logRetentionDays": "90", "queryRawSql": "true", "streamMode": "PROVISIONED", "streamShards": "4",
		"apiPrincipals": "arn:aws:iam::111122223333:role/analyst, arn:aws:iam::111122223333:role/bi",
	})
	if err != nil {
		t.Fatal(err)
	}
	if s.Stage != "prod" || s.LogRetentionDays != 90 || !s.RawSQL || s.StreamShards != 4 || len(s.APIPrincipals) != 2 || s.GlueDatabase() != "sluice_prod" {
		t.Errorf("parsed %+v", s)
	}
}

func TestBadContextNamesTheKey(t *testing.T) {
	for key, v := range map[string]interface{}{
		"stage": "Prod-1", "logRetentionDays": "31", "athenaBytesScannedCutoff": "1000", "streamMode": "fast",
		"queryRawSql": "maybe", "firehoseBufferMB": "32", "apiPrincipals": "analyst",
		"projectionStart": "2026-13-01", "promoteMaxConcurrency": "1", "producerPrincipals": "collector",
		"maintainEveryHours": "0", "maintainKeepDays": "0", "maintainKeepSnapshots": "0", "maintainOrphanAgeHours": "1", "eraseGrace": "-1h",
	} {
		_, err := settingsFrom(t, map[string]interface{}{key: v})
		if err == nil || !strings.Contains(err.Error(), key) {
			t.Errorf("%s=%v: error %v, want one naming the key", key, v, err)
		}
	}
}

// With cdk.json's @aws-cdk/core:annotationsInValidationReport, an AwsSolutions error fails the
// synth itself: an insecure bucket must make it fail, naming the rule.
func TestNagFindingsFailTheSynth(t *testing.T) {
	ctx := cdkContext(t)
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
	stack := awscdk.NewStack(app, jsii.String("insecure"), nil)
	awss3.NewBucket(stack, jsii.String("Open"), nil)
	lake.Check(app)
	report, failed := synthReport(t, out, func() { assertions.Template_FromStack(stack, nil) })
	if !failed || !strings.Contains(report, "AwsSolutions-S1") {
		t.Errorf("a bucket without access logs did not fail the synth with AwsSolutions-S1 (failed %v): %s", failed, report)
	}
}
