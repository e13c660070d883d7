// Command infra is the CDK app (cdk.json runs it with `go run .`): it builds the six functions
// from functions/ and defines the lake stack around them.
package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/jsii-runtime-go"

	"github.com/sluicelake/sluice/events"
	"github.com/sluicelake/sluice/infra/bundle"
	"github.com/sluicelake/sluice/infra/lake"
	"github.com/sluicelake/sluice/shared/summary"
)

func main() {
	defer jsii.Close()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "sluice infra:", err)
		os.Exit(1)
	}
}

func run() error {
	app := awscdk.NewApp(nil)
	settings, err := lake.SettingsFromContext(app.Node())
	if err != nil {
		return err
	}
	sums, err := summary.Shipped()
	if err != nil {
		return err
	}
	contracts, err := events.Contracts()
	if err != nil {
		return err
	}
	policy, err := events.Access()
	if err != nil {
		return err
	}
	root, err := bundle.ModuleRoot(".")
	if err != nil {
		return err
	}
	out := filepath.Join(root, ".build", "lambda-arm64")
	code := map[string]awslambda.Code{}
	for _, name := range append(slices.Clone(lake.Functions), lake.Scheduled...) {
		start := time.Now()
		r, err := bundle.Function(context.Background(), root, out, name, bundle.Arch)
		if err != nil {
			return err
		}
		note := ""
		if r.Placeholder {
			note = " (no code in functions/" + name + " yet: placeholder that answers \"not implemented yet\")"
		}
		fmt.Fprintf(os.Stderr, "built %s in %s%s\n", name, time.Since(start).Round(time.Millisecond), note)
		code[name] = awslambda.Code_FromAsset(jsii.String(r.Dir), nil)
	}

	stackProps := awscdk.StackProps{Description: jsii.String("sluice serverless data lake, stage " + settings.Stage)}
	// The CLI sets these from the deploying credentials; offline synth leaves the stack
	// environment-agnostic.
	if account, region := os.Getenv("CDK_DEFAULT_ACCOUNT"), os.Getenv("CDK_DEFAULT_REGION"); account != "" && region != "" {
		stackProps.Env = &awscdk.Environment{Account: jsii.String(account), Region: jsii.String(region)}
	}
	_, err = lake.NewStack(app, "sluice-"+settings.Stage, &lake.Props{
		StackProps: stackProps,
		Settings:   settings,
		Contracts:  contracts,
		Summaries:  sums,
		Access:     policy,
		Code:       func(name string) awslambda.Code { return code[name] },
	})
	if err != nil {
		return err
	}
	lake.Check(app)
	app.Synth(nil)
	return nil
}
