package lake_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/infra/lake"
	"github.com/sluicelake/sluice/shared/cdc"
	"github.com/sluicelake/sluice/shared/contract"
	"github.com/sluicelake/sluice/shared/summary"
)

// cdkContext is cdk.json's context: without it the app's feature flags, and so the template,
// would differ from what `cdk synth` produces.
func cdkContext(t testing.TB) map[string]interface{} {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "cdk.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Context map[string]interface{} `json:"context"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("cdk.json: %v", err)
	}
	return f.Context
}

// synthesized is one synth of the lake: the stack, its template as JSON, and its annotations.
type synthesized struct {
	lake     *lake.Lake
	template assertions.Template
	json     map[string]interface{}
	nag      []string // unsuppressed AwsSolutions errors
}

func (s *synthesized) resources(typ string) map[string]map[string]interface{} {
	out := map[string]map[string]interface{}{}
	for id, r := range s.json["Resources"].(map[string]interface{}) {
		rm := r.(map[string]interface{})
		if rm["Type"] == typ {
			out[id] = rm
		}
	}
	return out
}

// synth builds the lake with the given contracts and extra context. Code is a stand-in folder:
// the tests check the stack, not the binaries (infra/bundle is tested on its own).
func synth(t testing.TB, contracts []*contract.Contract, extra map[string]interface{}) *synthesized {
	t.Helper()
	ctx := cdkContext(t)
	for k, v := range extra {
		ctx[k] = v
	}
	out := t.TempDir()
	app := awscdk.NewApp(&awscdk.AppProps{Context: &ctx, Outdir: jsii.String(out)})
	settings, err := lake.SettingsFromContext(app.Node())
	if err != nil {
		t.Fatal(err)
	}
	codeDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(codeDir, "bootstrap"), []byte("stand-in"), 0o755); err != nil {
		t.Fatal(err)
	}
	policy, err := events.Access()
	if err != nil {
		t.Fatal(err)
	}
	sums, err := summary.Shipped()
	if err != nil {
		t.Fatal(err)
	}
	l, err := lake.NewStack(app, "sluice-"+settings.Stage, &lake.Props{
		Settings:  settings,
		Contracts: contracts,
		Summaries: sums,
		Access:    policy,
		Code:      func(string) awslambda.Code { return awslambda.Code_FromAsset(jsii.String(codeDir), nil) },
	})
	if err != nil {
		t.Fatal(err)
	}
	lake.Check(app)
	var tpl assertions.Template
	if report, failed := synthReport(t, out, func() { tpl = assertions.Template_FromStack(l.Stack, nil) }); failed {
		t.Fatalf("synth failed; cdk-nag AwsSolutions errors need a fix or a suppression with its reason in nag.go:\n%s", report)
	}
	s := &synthesized{lake: l, template: tpl, json: tplJSON(tpl)}
	// Without the validation-report flag, findings would stay annotations: collect them too.
	for _, m := range *assertions.Annotations_FromStack(l.Stack).FindError(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
		s.nag = append(s.nag, *m.Id+": "+toJSON(m.Entry.Data))
	}
	return s
}

// synthReport runs a synth and turns the panic a failed validation raises into the findings of
// the validation report the synth wrote into out.
func synthReport(t testing.TB, out string, synth func()) (report string, failed bool) {
	t.Helper()
	func() {
		defer func() {
			if r := recover(); r != nil {
				failed = true
				report = fmt.Sprint(r)
			}
		}()
		synth()
	}()
	if !failed {
		return "", false
	}
	b, err := os.ReadFile(filepath.Join(out, "validation-report.json"))
	if err != nil {
		return report, true
	}
	var findings []string
	for _, line := range regexp.MustCompile(`AwsSolutions-[A-Za-z0-9]+(\[[^\]]*\])?`).FindAllString(string(b), -1) {
		if !slices.Contains(findings, line) {
			findings = append(findings, line)
		}
	}
	return report + "\n" + strings.Join(findings, "\n"), true
}

func tplJSON(tpl assertions.Template) map[string]interface{} {
	b, err := json.Marshal(tpl.ToJSON())
	if err != nil {
		panic(err)
	}
	var m map[string]interface{}
	if err := json.Unmarshal(b, &m); err != nil {
		panic(err)
	}
	return m
}

func toJSON(v interface{}) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func shipped(t testing.TB) []*contract.Contract {
	t.Helper()
	cs, err := events.Contracts()
	if err != nil {
		t.Fatal(err)
	}
	return cs
}

// streamed is the shipped contracts that get a Kinesis stream of their own: all but the change
// streams, which come from Kafka.
func streamed(t testing.TB) []*contract.Contract {
	t.Helper()
	var out []*contract.Contract
	for _, c := range shipped(t) {
		if !cdc.IsChangeStream(c) {
			out = append(out, c)
		}
	}
	return out
}

var (
	defaultOnce sync.Once
	defaultLake *synthesized
)

// defaultSynth is the lake as cdk.json configures it, synthesized once per test binary: the
// first synth in a process costs seconds, so every subtest shares it.
func defaultSynth(t *testing.T) *synthesized {
	t.Helper()
	defaultOnce.Do(func() { defaultLake = synth(t, shipped(t), nil) })
	if defaultLake == nil {
		t.Fatal("the shared synth failed (see the first failing test)")
	}
	return defaultLake
}
