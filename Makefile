# GOTOOLCHAIN=auto lets an older local Go download the toolchain go.mod pins (Go 1.27 brings the
# generic methods the DSL is written with).
export GOTOOLCHAIN := auto

GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := librocksdb-dev kcat

.PHONY: deps test test-docker vet fmt-check bench bench-suite kstreams-jar demo

# deps installs the Debian/Ubuntu packages the project needs when they are missing, and does
# nothing when they are all present.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	else echo "deps: all present ($(DEB_PACKAGES))"; fi
	@$(GO) version

# test is the README's test command: formatting, vet, then every test that needs no Docker,
# with the race detector on.
test: fmt-check vet
	$(GO) test -race -count=1 ./...

# test-docker runs the integration suite against real Apache Kafka containers
# (testcontainers-go, module integration/); it skips cleanly without Docker. Not part of test.
test-docker:
	cd integration && $(GO) test -count=1 -v ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(git ls-files -co --exclude-standard "*.go" | xargs -r "$$($(GO) env GOROOT)/bin/gofmt" -l); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/... ./serde/...

# bench-suite runs every rill-bench workload (rill, raw franz-go, Kafka Streams, goka) on the
# embedded broker and rewrites docs/benchmarks.md and its chart (about 20 minutes; needs Java
# 17 and Maven for the Kafka Streams rows, or add --kstreams-dir= to skip them).
bench-suite:
	$(GO) run ./cmd/rill-bench --workload all --cpuprofile /tmp/rill-prof --out docs/benchmarks.md

# kstreams-jar builds bench/kstreams, the Kafka Streams peer of rill-bench's workloads (Kafka
# Streams 4.1.1, Java 17); rill-bench builds it itself when it is missing or stale.
kstreams-jar:
	cd bench/kstreams && mvn -q -B package

# demo runs the email service end to end on an embedded broker: 1000 generated orders with
# their payments and customers, one line per email, then a summary.
demo:
	$(GO) run ./examples/orderemails --generate 1000 --exit-when-idle 5s --describe
