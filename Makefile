# make test: every test, with the race detector, then the 300,000-row
# acceptance test of the validator at full size (the race build runs it on
# 20,000 rows), then the reports' cross-check against independent
# computations without it: that test is sequential computation over every
# report, filter, zone and engine (about 2 minutes), which the race detector
# slows past half an hour without anything concurrent to check.
GO ?= go
export GOFLAGS ?= -mod=readonly

.PHONY: test build lint bench fuzz

build:
	$(GO) build -o bin/konduit ./cmd/konduit

# make test: every test under -race, and beside it (its output held until
# the race run ends) the two checks too slow under -race: the generated
# file's validation and the reports' independent cross-check. They fill the
# core the race run leaves idle in its last minutes. Fails if either fails.
test:
	@cross=$$(mktemp); \
	{ $(GO) test -count=1 -run 'TestGeneratedFile' ./internal/check && \
	  $(GO) test -count=1 -run '^TestReportsAgainstIndependentComputation$$' ./internal/report; } >"$$cross" 2>&1 & \
	$(GO) test -race -count=1 -timeout 30m -skip '^TestReportsAgainstIndependentComputation$$' ./...; race=$$?; \
	wait $$!; rc=$$?; echo "non-race checks:"; cat "$$cross"; rm -f "$$cross"; \
	test $$race -eq 0 && test $$rc -eq 0

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

bench:
	bash bench/validate.sh

# make fuzz: every fuzz target in the repository (found, not listed: a new
# func FuzzX in any *_test.go is included), one after the other, each for
# FUZZTIME. They also run their seed corpora in make test. FUZZ narrows the
# run to the targets whose package directory or name matches an extended
# regular expression (make fuzz FUZZ=konnektive). Minimizing an input the
# fuzzer found is capped at FUZZMINIMIZETIME so one slow minimization cannot
# eat a target's whole run. A failing input is saved under the package's
# testdata/fuzz/ (go test's own behaviour); the run goes on to the other
# targets and fails at the end, naming every target that failed.
#
# Go before 1.27 can end a duration-bounded run with a bare "context
# deadline exceeded" and no failing input: its coordinator's deadline races
# a busy worker (go.dev/issue/75804; more likely on a loaded machine). Such
# a run is reported as a toolchain flake, not a failure; any run that wrote
# a failing input, or failed any other way, fails.
FUZZTIME ?= 60s
FUZZMINIMIZETIME ?= 10s
FUZZTIMEOUT ?= 30m
FUZZ ?= .

fuzz:
	@targets=$$(grep -rE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]*\(' . \
		| sed -E 's|^(.*)/[^/]*_test\.go:func (Fuzz[A-Za-z0-9_]*)\(.*$$|\1 \2|' | sort -u \
		| grep -E -- '$(FUZZ)' | tr ' ' ':'); \
	test -n "$$targets" || { echo "fuzz: no target matches $(FUZZ)"; exit 1; }; \
	total=$$(echo "$$targets" | wc -l); i=0; failed=""; flaked=""; start=$$(date +%s); \
	out=$$(mktemp); trap 'rm -f "$$out" "$$out.rc"' EXIT; \
	for t in $$targets; do \
		dir=$${t%%:*}; name=$${t#*:}; i=$$((i+1)); \
		echo "== fuzz $$i/$$total: $$dir $$name ($(FUZZTIME))"; \
		{ $(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime $(FUZZMINIMIZETIME) \
			-timeout $(FUZZTIMEOUT) "$$dir" 2>&1; echo $$? > "$$out.rc"; } | tee "$$out"; \
		if [ "$$(cat "$$out.rc")" = 0 ]; then :; \
		elif grep -qx '    context deadline exceeded' "$$out" && ! grep -q 'Failing input written' "$$out"; then \
			echo "fuzz: $$name: no failing input, the fuzztime deadline raced a worker (go.dev/issue/75804): a toolchain flake"; \
			flaked="$$flaked $$t"; \
		else failed="$$failed $$t"; fi; \
	done; \
	echo "fuzz: $$total targets in $$(( $$(date +%s) - start ))s"; \
	if [ -n "$$flaked" ]; then echo "fuzz: toolchain flakes (no failing input):$$flaked"; fi; \
	if [ -n "$$failed" ]; then echo "fuzz: FAILED:$$failed"; exit 1; fi; \
	echo "fuzz: all passed"
