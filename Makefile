# sluice: `make test` passes the tests, `make local` runs the lake locally. Both install what they
# need from scratch: pinned npm tools go to .tools/ (outside the Go module's ./... because of the
# leading dot: the CDK CLI ships Go template files that would break `go vet ./...`).
SHELL := /bin/bash
export CDK_DISABLE_VERSION_CHECK := 1
export CDK_DISABLE_CLI_TELEMETRY := true
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export GOFLAGS := -buildvcs=false

TOOLS      := $(CURDIR)/.tools
BUILD      := $(CURDIR)/.build
NPM_PKGS   := kinesis-local@0.6.2 aws-cdk@2.1148.1 aws-cdk-local@3.0.4 playwright-core@1.65.1
# Python tools the tests run; installed into PY_VENV only when missing from PATH (shared/tooltest
# names the same pins).
PY_PKGS    := moto[server]==5.2.1 cfn-lint==1.51.0
PY_VENV    := $(TOOLS)/python
# The code with goroutines of its own: the event source mappings (Kinesis, Kafka), the Runtime API host, the S3
# event tap, and promote's lock (its tests only: the rest of promote is sequential and costs
# minutes under -race). `make test` runs them again under -race.
RACE_PKGS  := ./localstack/esm/... ./localstack/kafkaesm/... ./localstack/runtimeapi/... ./localstack/s3events/...
RACE_PROMOTE := ^(TestConcurrentPromotions|TestHeldLock|TestExpiredLock|TestStalePromotion|TestRelease)
FUNCTIONS  := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
ARCH       ?= $(shell go env GOARCH)
export SLUICE_TOOLS := $(TOOLS)
export PATH := $(PY_VENV)/bin:$(PATH)

.PHONY: tools build build-arm64 sizes test vet fmt-check local local-run console produce produce-http query lineage history rollback erase bench bench-query bench-promote fuzz cost infer clean

tools: $(TOOLS)/.installed

$(TOOLS)/.installed: Makefile
	mkdir -p $(TOOLS)
	cd $(TOOLS) && [ -f package.json ] || echo '{"name":"sluice-tools","private":true}' > $(TOOLS)/package.json
	npm install --prefix $(TOOLS) --no-audit --no-fund --save-exact $(NPM_PKGS)
	touch $@

# Lambda binaries: provided.al2023, -tags lambda.norpc, stripped. ARCH=arm64 for AWS. The build
# command is infra/bundle's, the one the CDK app and the tests use.
build:
	go run ./infra/bundle/cmd/build -arch $(ARCH) -out $(BUILD)/$(ARCH) $(FUNCTIONS)

# What ships: linux/arm64, stripped, -tags lambda.norpc. Prints each binary's size.
sizes:
	$(MAKE) --no-print-directory build ARCH=arm64
	@for f in $(FUNCTIONS); do stat -c %s $(BUILD)/arm64/$$f/bootstrap | awk -v f=$$f '{printf "%-10s %6.1f MB\n", f, $$1/1048576}'; done

# The lake on this machine, no Docker, no AWS account: stand-ins on 127.0.0.1, the built functions
# through the Lambda Runtime API, a sample produced; runs until Ctrl-C. Each function runs under
# its role's policies in the synthesized template, and S3 denies what they do not allow, as AWS
# does (LOCAL_TEMPLATE= runs without enforcement).
LOCAL_TEMPLATE ?= $(CURDIR)/infra/cdk.out/sluice-$(or $(STAGE),dev).template.json

local: tools build synth
	go run ./localstack/local --bin-dir $(BUILD)/$(ARCH) --template "$(LOCAL_TEMPLATE)" $(LOCAL_ARGS)

# The web console against a deployed lake: serves it on 127.0.0.1:8089 and signs its API calls
# with this shell's AWS credentials (SigV4), so the browser never holds keys. `make local`
# serves the same console at http://127.0.0.1:8088/console/ without any of this.
console:
	@[ -n "$(URL)" ] || { echo "console: give the deployed API's URL: make console URL=<ApiUrl output>" >&2; exit 2; }
	go run ./localstack/consolecmd -url "$(URL)" $(CONSOLE_ARGS)

# The same sample to completion: checks that every record is accounted for and that no call was
# denied, then exits.
local-run: tools build synth
	go run ./localstack/local --bin-dir $(BUILD)/$(ARCH) --template "$(LOCAL_TEMPLATE)" --once $(LOCAL_ARGS)

# A structured query against the local lake's API (or the deployed one: URL=<ApiUrl> SIGV4=1).
query:
	go run ./localstack/querycmd -url $(or $(URL),http://127.0.0.1:8088) -f $(or $(Q),/dev/stdin) $(if $(SIGV4),-sigv4) $(if $(AS),-as $(AS))

# The lineage graph of the local lake as Mermaid (DATASET=user_events or cleansed/user_events,
# OBJECT=s3://bucket/key, DEPTH=3, SINCE=YYYY-MM-DD, JSON=1; URL=<ApiUrl> SIGV4=1 for the deployed API).
lineage:
	go run ./localstack/querycmd -url $(or $(URL),http://127.0.0.1:8088) -lineage $(if $(OBJECT),object=$(OBJECT),dataset=$(or $(DATASET),user_events)) $(if $(DEPTH),-depth $(DEPTH)) $(if $(SINCE),-since $(SINCE)) $(if $(JSON),-json) $(if $(SIGV4),-sigv4) $(if $(AS),-as $(AS))

# Promote: converting, appending and compacting a partition beside a byte copy through the same
# S3 stand-in, and the row-group copy alone.
bench-promote:
	go test -run '^$$' -bench 'BenchmarkPromote|BenchmarkRowGroupCopy' -benchtime 2s ./shared/promote

bench-query:
	go test -run '^$$' -bench . -benchtime 20x ./localstack/duckengine

# More events into a running `make local` (it prints the endpoint to use).
produce:
	go run ./events/producer --stream $(or $(STREAM),sluice-events) --dataset all --amount $(or $(AMOUNT),1000) --bad 0.05

# The same through the events API (POST /events) of the local lake, or of the deployed one with
# URL=<ApiUrl> SIGV4=1.
produce-http:
	go run ./events/producer --http $(or $(URL),http://127.0.0.1:8088) --dataset all --amount $(or $(AMOUNT),1000) --bad 0.05 $(if $(SIGV4),--sigv4)

# Throughput (MB/s of JSON input per core) beside its baselines, and peak heap of a 6 MB batch.
bench:
	go test -run XXX -bench 'BenchmarkIngest' -cpu 1 -benchtime 10x ./shared/ingest/

# A new dataset's contract drafted from a sample file (.jsonl/.ndjson/.json lines, .csv, .parquet):
# SAMPLE=path [DATASET=name]. Writes events/<dataset>.avsc, never over an existing contract; every
# guess (type, enum, key, event time, rules, PII, zone) is named in its field's doc to check.
infer:
	go run ./events/infer $(if $(DATASET),-dataset $(DATASET)) $(SAMPLE)

fuzz:
	go test -run XXX -fuzz FuzzAdd -fuzztime $(or $(FUZZTIME),60s) ./shared/record/
	go test -run XXX -fuzz FuzzSplitBody -fuzztime $(or $(FUZZTIME),60s) ./shared/collect/
	go test -run XXX -fuzz FuzzToJSON -fuzztime $(or $(FUZZTIME),60s) ./shared/kafkawire/
	go test -run XXX -fuzz FuzzDecode -fuzztime $(or $(FUZZTIME),60s) ./shared/cdc/

# A month's AWS bill per item for a traffic (infra/cost): RATE=records/s SIZE=bytes, COST_ARGS='-md -queries 500 ...'.
cost:
	@go run ./infra/cost/cmd/cost $(if $(RATE),-rate $(RATE)) $(if $(SIZE),-size $(SIZE)) $(COST_ARGS)

include infra/infra.mk

vet:
	go vet ./...

.PHONY: vet-noxray test-tools test-race test-noxray

# shared/tracing swaps its X-Ray SDK for a no-op under -tags noxray: that build is vetted too.
vet-noxray:
	go vet -tags noxray ./...

# moto_server, cfn-lint, jq, git and node, or a message saying how to install what is missing.
test-tools:
	@.ci/test-tools $(PY_VENV) $(foreach p,$(PY_PKGS),'$(p)')

test-race:
	go test -race -count=1 $(RACE_PKGS)
	go test -race -count=1 -run '$(RACE_PROMOTE)' ./shared/promote

test-noxray:
	go test -tags noxray -count=1 ./shared/tracing/...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# Everything: formatting, vet (also under -tags noxray), the synthesized stack through cfn-lint,
# every Go test (unit, stand-in integration, built-binary end to end, CDK assertions with cdk-nag),
# the concurrent packages under -race, and tracing under -tags noxray. Under CI=true a test that
# needs a missing tool fails rather than skips.
test: tools test-tools fmt-check vet vet-noxray infra-lint
	go test -count=1 -timeout 60m ./...
	$(MAKE) --no-print-directory test-race test-noxray

clean:
	rm -rf $(BUILD) .local

# A curated table's snapshots, and a rollback to one (a new snapshot with that one's rows):
# DATASET=user_events [SNAPSHOT=<id>] [AS=<caller ARN> locally | URL=<ApiUrl> SIGV4=1].
history:
	go run ./localstack/querycmd -url $(or $(URL),http://127.0.0.1:8088) -history $(or $(DATASET),user_events) $(if $(SIGV4),-sigv4) $(if $(AS),-as $(AS))

rollback:
	go run ./localstack/querycmd -url $(or $(URL),http://127.0.0.1:8088) -rollback $(DATASET) -snapshot $(SNAPSHOT) $(if $(SIGV4),-sigv4) $(if $(AS),-as $(AS))

# Every row of a key erased from every zone (the right to be forgotten), and the report of what
# was done: DATASET=user_events KEY=<value> [FIELD=<column>, default the dataset's key]
# [AS=<caller ARN with manage> locally | URL=<ApiUrl> SIGV4=1].
erase:
	@[ -n "$(DATASET)" ] && [ -n "$(KEY)" ] || { echo "erase: give DATASET=<dataset> KEY=<value> [FIELD=<column>]" >&2; exit 2; }
	go run ./localstack/querycmd -url $(or $(URL),http://127.0.0.1:8088) -erase $(DATASET) -key '$(KEY)' $(if $(FIELD),-field $(FIELD)) $(if $(SIGV4),-sigv4) $(if $(AS),-as $(AS))
