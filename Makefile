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
FUNCTIONS  := ingest
ARCH       ?= $(shell go env GOARCH)
export SLUICE_TOOLS := $(TOOLS)

.PHONY: tools build test test-short vet fmt-check local local-run bench fuzz clean

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

vet:
	go vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed: $$out"; exit 1; fi

test: tools fmt-check vet
	go test -count=1 -timeout 40m ./...

clean:
	rm -rf $(BUILD) .local
