# infra.mk: the CDK app's targets, included from the top Makefile (which defines TOOLS and the
# tools target, and exports CDK_DISABLE_VERSION_CHECK, CDK_DISABLE_CLI_TELEMETRY and
# JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION). The app builds the five functions itself
# (infra/bundle), so none of these can ship a stale or missing binary.
#
# Settings: STAGE picks the stage (default dev); CDK_ARGS passes any other context, e.g.
#   make deploy STAGE=prod CDK_ARGS='-c alarmEmail=ops@example.com'
INFRA      := $(CURDIR)/infra
CDK        := $(TOOLS)/node_modules/.bin/cdk
CDKLOCAL   := $(TOOLS)/node_modules/.bin/cdklocal
CDK_ARGS   ?=
CDK_CTX     = -c stage=$(STAGE) $(CDK_ARGS)
CDK_OUT    := $(INFRA)/cdk.out
STAGE      ?= dev
LOCALSTACK_URL ?= http://localhost:4566

.PHONY: synth diff deploy destroy local-deploy infra-lint infra-test

# Offline: needs no AWS credentials. Fails on any unsuppressed cdk-nag AwsSolutions finding.
synth: tools
	cd $(INFRA) && $(CDK) synth --quiet $(CDK_CTX)

diff: tools
	cd $(INFRA) && $(CDK) diff $(CDK_CTX)

# Needs AWS credentials and a bootstrapped account/region (cdk bootstrap, once).
deploy: tools
	cd $(INFRA) && $(CDK) deploy --require-approval broadening $(CDK_CTX)

# Data buckets, the lake key and the PII secret are retained: see infra/README.md.
destroy: tools
	cd $(INFRA) && $(CDK) destroy --force $(CDK_CTX)

# Needs Docker, a running LocalStack with LOCALSTACK_AUTH_TOKEN (Glue, Athena and Firehose are
# in its paid tiers): it cannot run on machines without Docker. `make local` is the Docker-free path.
local-deploy: tools
	@curl -fsS $(LOCALSTACK_URL)/_localstack/health >/dev/null 2>&1 || { \
	  echo "local-deploy: no LocalStack at $(LOCALSTACK_URL). Start it with Docker and LOCALSTACK_AUTH_TOKEN set" \
	       "(see localstack/), or use 'make local', which needs neither." >&2; exit 1; }
	cd $(INFRA) && AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
	  CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION=us-east-1 \
	  $(CDKLOCAL) bootstrap aws://000000000000/us-east-1 && \
	  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 \
	  CDK_DEFAULT_ACCOUNT=000000000000 CDK_DEFAULT_REGION=us-east-1 \
	  $(CDKLOCAL) deploy --require-approval never $(CDK_CTX)

# cfn-lint on the synthesized template: errors and warnings fail. W3005 is skipped: CDK makes each
# function DependsOn its role (and the role's policy) besides the GetAtt, on purpose.
infra-lint: synth
	cfn-lint --ignore-checks W3005 -- $(CDK_OUT)/sluice-$(STAGE).template.json

infra-test: infra-lint
	go test -count=1 ./infra/...
