# skiff: build, test, lint. `make test` is what CI runs (as root, with the
# unprivileged test user made by hack/setup.sh).
# hack/setup.sh installs golangci-lint in /usr/local/bin; `go install` puts
# it in ~/go/bin.
export PATH := /usr/local/go/bin:$(HOME)/go/bin:$(PATH)
GO ?= go
GOLANGCI_LINT ?= golangci-lint
TAGS ?= exclude_graphdriver_btrfs
SKIFF_USER ?= skiffuser

.PHONY: build test test-unit test-e2e test-e2e-docker lint bench clean fuzz

build:
	$(GO) build -tags '$(TAGS)' -o bin/skiff ./cmd/skiff

# Unit tests and the tests that need root or namespaces (which skip, saying
# why, when they cannot run), then the end-to-end suite.
test: test-unit test-e2e

# The fluentd and awslogs tests are modules of their own (their receivers
# stay out of skiff's go.mod).
test-unit:
	$(GO) test -tags '$(TAGS)' -race -count=1 $$($(GO) list ./... | grep -v /test$$)
	cd logs/fluentdtest && CI=true $(GO) test -count=1 ./...
	cd logs/awslogstest && CI=true $(GO) test -count=1 ./...

# End-to-end: drives bin/skiff as root and as $(SKIFF_USER).
test-e2e: build
	$(GO) test -tags '$(TAGS)' -count=1 -v -timeout 30m ./test/ -skiff=$(CURDIR)/bin/skiff -user=$(SKIFF_USER)

# The same suite against Docker: the docker CLI (28 in /usr/local/bin if
# there, else docker.io's) on a dockerd (Debian's docker.io) that the
# tests start as root with state of their own; skiff-only tests skip,
# saying why. It needs no skiff binary. E2E_DOCKER_RUN narrows it (-run).
E2E_DOCKER_RUN ?=
test-e2e-docker:
	$(GO) test -tags '$(TAGS)' -count=1 -v -timeout 30m ./test/ -target=docker $(if $(E2E_DOCKER_RUN),-run '$(E2E_DOCKER_RUN)')

# Native fuzz targets of the parsers of user input, FUZZTIME each, one
# at a time; what they find goes under the package's testdata/fuzz, which
# test-unit runs as regression cases.
FUZZTIME ?= 60s
FUZZ_TARGETS = \
	./opts:FuzzParseCPUs ./opts:FuzzParseSize ./opts:FuzzParseEnv ./opts:FuzzValidateExtraHost \
	./opts:FuzzParseLogOpts ./opts:FuzzParseBind ./opts:FuzzImageReference \
	./cli:FuzzParsePublish ./cli:FuzzParseMount \
	./engine:FuzzMountSpecs

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; fn=$${t##*:}; \
		echo "== $$fn ($$pkg, $(FUZZTIME))"; \
		$(GO) test -tags '$(TAGS)' -run='^$$' -fuzz="^$$fn\$$" -fuzztime=$(FUZZTIME) $$pkg; \
	done

# gofmt, go vet, go.mod and go.sum tidy (the two test modules too), and
# golangci-lint v2 (.golangci.yml; hack/setup.sh installs the version CI
# uses).
lint:
	gofmt -l . | (! grep .)
	$(GO) vet -tags '$(TAGS)' ./...
	$(GO) mod tidy -diff
	cd logs/fluentdtest && $(GO) mod tidy -diff
	cd logs/awslogstest && $(GO) mod tidy -diff
	$(GOLANGCI_LINT) run --build-tags '$(TAGS)' ./...

bench: build
	$(GO) run ./bench -skiff=$(CURDIR)/bin/skiff -user=$(SKIFF_USER)

clean:
	rm -rf bin
