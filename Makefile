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
NPM_PKGS   := kinesis-local@0.6.2 aws-cdk@2.1148.1 aws-cdk-local@3.0.4
FUNCTIONS  := $(patsubst functions/%/main.go,%,$(wildcard functions/*/main.go))
ARCH       ?= $(shell go env GOARCH)
export SLUICE_TOOLS := $(TOOLS)

.PHONY: tools build build-arm64 sizes test vet fmt-check local local-run produce produce-http query lineage bench bench-query bench-promote fuzz clean

tools: $(TOOLS)/.installed

$(TOOLS)/.installed: Makefile
	mkdir -p $(TOOLS)
	cd $(TOOLS) && [ -f package.json ] || echo '{"name":"sluice-tools","private":true}' > $(TOOLS)/package.json
	npm install --prefix $(TOOLS) --no-audit --no-fund --save-exact $(NPM_PKGS)
	touch $@

# Lambda binaries: provided.al2023, -tags lambda.norpc, stripped. ARCH=arm64 for AWS.
build: $(addprefix $(BUILD)/$(ARCH)/,$(addsuffix /bootstrap,$(FUNCTIONS)))

$(BUILD)/$(ARCH)/%/bootstrap: FORCE
	CGO_ENABLED=0 GOOS=linux GOARCH=$(ARCH) go build -tags lambda.norpc -trimpath -ldflags='-s -w' -o $@ ./functions/$*

FORCE:

# What ships: linux/arm64, stripped, -tags lambda.norpc. Prints each binary's size.
sizes:
	$(MAKE) --no-print-directory build ARCH=arm64
	@for f in $(FUNCTIONS); do stat -c %s $(BUILD)/arm64/$$f/bootstrap | awk -v f=$$f '{printf "%-10s %6.1f MB\n", f, $$1/1048576}'; done

# The lake on this machine, no Docker, no AWS account: stand-ins on 127.0.0.1, the built functions
# through the Lambda Runtime API, a sample produced; runs until Ctrl-C.
local: tools build
	go run ./localstack/local --bin-dir $(BUILD)/$(ARCH) $(LOCAL_ARGS)

# The same sample to completion: checks that every record is accounted for, then exits.
local-run: tools build
	go run ./localstack/local --bin-dir $(BUILD)/$(ARCH) --once $(LOCAL_ARGS)

# A structured query against the local lake's API (or the deployed one: URL=<ApiUrl> SIGV4=1).
query:
	go run ./localstack/querycmd -url $(or $(URL),http://127.0.0.1:8088) -f $(or $(Q),/dev/stdin) $(if $(SIGV4),-sigv4)

# The lineage graph of the local lake as Mermaid (DATASET=user_events or cleansed/user_events,
# OBJECT=s3://bucket/key, DEPTH=3, SINCE=YYYY-MM-DD, JSON=1; URL=<ApiUrl> SIGV4=1 for the deployed API).
lineage:
	go run ./localstack/querycmd -url $(or $(URL),http://127.0.0.1:8088) -lineage $(if $(OBJECT),object=$(OBJECT),dataset=$(or $(DATASET),user_events)) $(if $(DEPTH),-depth $(DEPTH)) $(if $(SINCE),-since $(SINCE)) $(if $(JSON),-json) $(if $(SIGV4),-sigv4)

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

fuzz:
	go test -run XXX -fuzz FuzzAdd -fuzztime $(or $(FUZZTIME),60s) ./shared/record/
	go test -run XXX -fuzz FuzzSplitBody -fuzztime $(or $(FUZZTIME),60s) ./shared/collect/

include infra/infra.mk

vet:
	go vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

# Everything: formatting, vet, the synthesized stack through cfn-lint, and every Go test
# (unit, stand-in integration, built-binary end to end, CDK assertions with cdk-nag).
test: tools fmt-check vet infra-lint
	go test -count=1 -timeout 60m ./...

clean:
	rm -rf $(BUILD) .local
