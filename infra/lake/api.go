package lake

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2authorizers"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsapigatewayv2integrations"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/jsii-runtime-go"
)

// API is the query endpoint and the events endpoint: an HTTP API with IAM authorization in front
// of the query function (and of collect for POST /events), and the role callers assume to be
// allowed through it.
type API struct {
	HTTP       awsapigatewayv2.HttpApi
	CallerRole awsiam.Role
	AccessLogs awslogs.LogGroup
}

// accessLogFormat is one JSON line per request, with the caller's IAM identity.
const accessLogFormat = `{"requestId":"$context.requestId","ip":"$context.identity.sourceIp",` +
	`"caller":"$context.identity.userArn","time":"$context.requestTime","method":"$context.httpMethod",` +
	`"path":"$context.path","status":"$context.status","bytes":"$context.responseLength",` +
	`"latencyMs":"$context.responseLatency","integrationError":"$context.integrationErrorMessage"}`

func newAPI(stack awscdk.Stack, s Settings, l *Lake) *API {
	api := awsapigatewayv2.NewHttpApi(stack, jsii.String("QueryApi"), &awsapigatewayv2.HttpApiProps{
		ApiName:            jsii.String("sluice-" + s.Stage),
		Description:        jsii.String("sluice query API: structured queries on the lake through Athena"),
		DefaultAuthorizer:  awsapigatewayv2authorizers.NewHttpIamAuthorizer(),
		CreateDefaultStage: jsii.Bool(true),
	})
	// The query function routes its own paths (start, poll, page); every path needs SigV4.
	api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
		Path:        jsii.String("/{proxy+}"),
		Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_ANY},
		Integration: awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("QueryIntegration"), l.Functions["query"], nil),
	})
	// Events over HTTP: more specific than /{proxy+}, so these routes win for POST /events...;
	// they inherit the IAM authorizer like every route of this API.
	events := awsapigatewayv2integrations.NewHttpLambdaIntegration(jsii.String("CollectIntegration"), l.Functions["collect"], nil)
	for _, path := range []string{"/events", "/events/{dataset}"} {
		api.AddRoutes(&awsapigatewayv2.AddRoutesOptions{
			Path:        jsii.String(path),
			Methods:     &[]awsapigatewayv2.HttpMethod{awsapigatewayv2.HttpMethod_POST},
			Integration: events,
		})
	}

	logs := awslogs.NewLogGroup(stack, jsii.String("QueryApiAccessLogs"), &awslogs.LogGroupProps{
		Retention:     retention(s.LogRetentionDays),
		RemovalPolicy: awscdk.RemovalPolicy_DESTROY,
	})
	stage := api.DefaultStage().Node().DefaultChild().(awsapigatewayv2.CfnStage)
	stage.SetAccessLogSettings(&awsapigatewayv2.CfnStage_AccessLogSettingsProperty{
		DestinationArn: logs.LogGroupArn(),
		Format:         jsii.String(accessLogFormat),
	})
	stage.SetDefaultRouteSettings(&awsapigatewayv2.CfnStage_RouteSettingsProperty{
		ThrottlingBurstLimit: jsii.Number(100),
		ThrottlingRateLimit:  jsii.Number(50),
	})

	// HTTP APIs have no resource policy: who may call is decided by identity policies. This role
	// carries the one permission needed; apiPrincipals (default: this account) may assume it.
	role := awsiam.NewRole(stack, jsii.String("QueryApiCallerRole"), &awsiam.RoleProps{
		AssumedBy:   assumableBy(s.APIPrincipals),
		Description: jsii.String("sluice: may call the query and events API and nothing else"),
	})
	role.AddToPolicy(allow([]string{"execute-api:Invoke"},
		jsii.String(fmt.Sprintf("arn:%s:execute-api:%s:%s:%s/*", *stack.Partition(), *stack.Region(), *stack.Account(), *api.ApiId()))))
	return &API{HTTP: api, CallerRole: role, AccessLogs: logs}
}
