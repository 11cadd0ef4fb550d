# GOTOOLCHAIN=auto lets an older local Go download the toolchain go.mod pins (Go 1.27 brings the
# generic methods the DSL is written with).
export GOTOOLCHAIN := auto

GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEB_PACKAGES := librocksdb-dev kcat

.PHONY: deps test test-docker vet fmt-check bench demo oracle oracle-jar test-oracle

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

# demo runs the email service end to end on an embedded broker: 1000 generated orders with
# their payments and customers, one line per email, then a summary.
demo:
	$(GO) run ./examples/orderemails --generate 1000 --exit-when-idle 5s --describe

# The differential oracle (internal/oracle, oracle/java): the same topologies and generated
# inputs through rill's streamstest and Kafka Streams' TopologyTestDriver, outputs compared
# record by record. Needs Java 17 and Maven; not part of test.
#   make oracle SEED=7 N=2000 [FAMILIES=ssjoin,winagg]   a longer run from any seed
#   make test-oracle                                    CI's fixed-seed run of every family
ORACLE_JAR := oracle/java/target/rill-oracle.jar
ORACLE_SRC := oracle/java/pom.xml $(shell find oracle/java/src -name '*.java' 2>/dev/null)
SEED ?= 1
N ?= 500
FAMILIES ?=

$(ORACLE_JAR): $(ORACLE_SRC)
	@command -v mvn >/dev/null || { echo "oracle: mvn (Maven) and Java 17 are needed to build $@"; exit 1; }
	cd oracle/java && mvn -q -B package -DskipTests

oracle-jar: $(ORACLE_JAR)

oracle: oracle-jar
	ORACLE_SEED=$(SEED) ORACLE_N=$(N) ORACLE_FAMILIES=$(FAMILIES) \
		$(GO) test -tags oracle -count=1 -timeout 60m -v -run '^TestOracle$$' ./internal/oracle/

test-oracle: oracle-jar
	ORACLE_SEED=1 ORACLE_N=500 $(GO) test -tags oracle -count=1 -timeout 10m -v -run '^TestOracle$$' ./internal/oracle/
