# make test: every test, with the race detector, then the 300,000-row
# acceptance test of the validator at full size (the race build runs it on
# 20,000 rows).
GO ?= go
export GOFLAGS ?= -mod=readonly

.PHONY: test build lint bench fuzz

build:
	$(GO) build -o bin/konduit ./cmd/konduit

test:
	$(GO) test -race -count=1 -timeout 30m ./...
	$(GO) test -count=1 -run 'TestGeneratedFile' ./internal/check

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

bench:
	bash bench/validate.sh

# A short run of every fuzz target (they also run their seed corpora in make test).
fuzz:
	$(GO) test -run XXX -fuzz FuzzReader -fuzztime 30s ./internal/legacy
	$(GO) test -run XXX -fuzz FuzzValidate -fuzztime 30s ./internal/check
