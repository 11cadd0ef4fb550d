# GOTOOLCHAIN=auto lets an older local Go download the toolchain go.mod pins (Go 1.27 brings the
# generic methods the DSL is written with).
export GOTOOLCHAIN := auto

GO ?= go
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
# librocksdb-dev for the stores; kcat for interop; docker.io, debootstrap, a JDK and Maven to
# build the Kafka image and run the real-Kafka suite (and the Java test modules).
DEB_PACKAGES := librocksdb-dev kcat docker.io debootstrap openjdk-17-jdk-headless maven chromium
# KAFKA_VERSION pins the Apache Kafka release of the locally built image (integration/kafka-image).
KAFKA_VERSION := 4.1.1

.PHONY: deps test microservices torture torture-kafka torture-ci fuzz test-kafka test-kafka-cluster kafka-image docker-up vet fmt-check bench bench-suite kstreams-jar demo oracle oracle-jar test-oracle

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

# test-kafka runs the integration module against real Apache Kafka in containers
# (testcontainers-go, module integration/): the whole root suite on one broker, the
# real-Kafka-only tests (broker restarts, transaction timeouts, group protocol) and interop with
# kcat and kafka-go. It starts dockerd and builds the image when they are missing. Without
# Docker the tests skip (and fail under CI=true).
test-kafka: kafka-image
	cd integration && RILL_SKIP_CLUSTER=1 $(GO) test -count=1 -v -timeout 60m ./...

# test-kafka-cluster runs the crash, zombie, failover and scale-out tests on a 3-broker cluster
# (internal topics at replication factor 3).
test-kafka-cluster: kafka-image
	cd integration && $(GO) test -count=1 -v -timeout 60m -run 'TestSuiteOnKafkaCluster|TestBrokerLoss' ./...

# kafka-image builds rill-kafka:$(KAFKA_VERSION) locally when it is missing: Kafka's jars from
# Maven Central (cached in ~/.cache/rill), a debootstrapped Debian base with a headless JRE.
kafka-image: docker-up
	@KAFKA_VERSION=$(KAFKA_VERSION) $(SUDO) integration/kafka-image/build.sh

# docker-up starts dockerd when no Docker engine answers, and says so.
docker-up:
	@if docker info >/dev/null 2>&1; then exit 0; fi; \
	echo "docker-up: no Docker engine answers; starting dockerd (log: /tmp/rill-dockerd.log)"; \
	$(SUDO) setsid dockerd >/tmp/rill-dockerd.log 2>&1 < /dev/null & \
	for i in $$(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	docker info >/dev/null 2>&1 || { echo "docker-up: dockerd did not start:"; tail -n 20 /tmp/rill-dockerd.log; exit 1; }

# vet covers the integration module too: it builds only in make test-kafka otherwise, and a
# change to the root API broke it unseen once.
vet:
	$(GO) vet ./...
	cd integration && $(GO) vet ./...

fmt-check:
	@out=$$(git ls-files -co --exclude-standard "*.go" | xargs -r "$$($(GO) env GOROOT)/bin/gofmt" -l); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

# torture runs rill-torture: app instances as child processes under SIGKILLs, zombies, scaling
# and broker restarts, every output verified (exactly-once: exact; at-least-once: nothing lost).
# make torture KILLS=100 GUARANTEE=at-least-once SEED=7 BOOTSTRAP=host:port BROKER_CONTAINER=name
KILLS ?= 10
GUARANTEE ?= exactly-once
torture:
	$(GO) run ./cmd/rill-torture --kills $(KILLS) --guarantee $(GUARANTEE) $(if $(SEED),--seed $(SEED)) \
		$(if $(BOOTSTRAP),--bootstrap $(BOOTSTRAP)) $(if $(BROKER_CONTAINER),--broker-container $(BROKER_CONTAINER))

# torture-kafka runs the torture on a real Kafka broker container (killed and started as the
# broker restarts): make torture-kafka KILLS=100 [GUARANTEE=at-least-once].
torture-kafka: kafka-image
	cd integration && RILL_TORTURE_KILLS=$(KILLS) RILL_TORTURE_GUARANTEE=$(GUARANTEE) \
		$(GO) test -count=1 -v -timeout 120m -run '^TestTortureOnRealKafka$$' ./...

# torture-ci is CI's short torture run on the embedded broker: a few kills and one broker
# restart under each guarantee (the real-Kafka run is TestTortureOnRealKafka in make test-kafka).
torture-ci:
	$(GO) run ./cmd/rill-torture --kills 4 --interval 5s --seed 11 --guarantee exactly-once
	$(GO) run ./cmd/rill-torture --kills 4 --interval 5s --seed 12 --guarantee at-least-once

# FUZZTIME is how long `make fuzz` runs each fuzz target.
FUZZTIME ?= 10s

# fuzz runs every fuzz target of the main module (each func Fuzz... in a _test.go file) for
# FUZZTIME each, one after the other: go test -fuzz takes one target of one package at a time.
# `make test` already runs each target's seeds and its corpus in testdata/fuzz; this explores
# beyond them. A failure leaves the failing input in the package's testdata/fuzz/<target>/,
# to be committed with the fix as a regression seed.
fuzz:
	@start=$$(date +%s); n=0; \
	for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v -e '^./integration/' -e '^./bench/goka/' | sort); do \
		pkg=./$$(dirname $${f#./}); \
		for name in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "fuzz: $$name in $$pkg for $(FUZZTIME)"; \
			$(GO) test -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
			n=$$((n+1)); \
		done; \
	done; \
	echo "fuzz: $$n targets passed in $$(( $$(date +%s) - start ))s"

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

# microservices runs the seed's orders application (examples/microservices) on an embedded
# broker: every service in one process, a generator placing ORDERS_PER_SEC orders, and the web
# page on http://$(MICRO_HTTP)/ until Ctrl-C.
ORDERS_PER_SEC ?= 2
MICRO_HTTP ?= localhost:8080
microservices:
	$(GO) run ./examples/microservices --generate $(ORDERS_PER_SEC) --http $(MICRO_HTTP) all

# The differential oracle (internal/oracle, oracle/java): the same topologies and generated
# inputs through rill's streamstest and Kafka Streams' TopologyTestDriver, outputs compared
# record by record. Needs Java 17 and Maven; not part of test.
#   make oracle SEED=7 N=2000 [FAMILIES=ssjoin,winagg]   a longer run from any seed
#   make test-oracle                                    CI's fixed-seed run of every family
ORACLE_JAR := oracle/java/target/rill-oracle.jar
ORACLE_SRC := oracle/java/pom.xml $(shell find oracle/java/src -name '*.java' 2>/dev/null)
N ?= 500
FAMILIES ?=

$(ORACLE_JAR): $(ORACLE_SRC)
	@command -v mvn >/dev/null || { echo "oracle: mvn (Maven) and Java 17 are needed to build $@"; exit 1; }
	cd oracle/java && mvn -q -B package -DskipTests

oracle-jar: $(ORACLE_JAR)

oracle: oracle-jar
	ORACLE_SEED=$(or $(SEED),1) ORACLE_N=$(N) ORACLE_FAMILIES=$(FAMILIES) \
		$(GO) test -tags oracle -count=1 -timeout 60m -v -run '^TestOracle$$' ./internal/oracle/

# test-oracle runs every family at seed 1, 500 cases each.
ORACLE_CI_FAMILIES := ssjoin,winagg,tableagg,tablesrc,stjoin,ttjoin,fkjoin,sgjoin,repart,cached,vtable,cwinagg
test-oracle: oracle-jar
	ORACLE_SEED=1 ORACLE_N=500 ORACLE_FAMILIES=$(ORACLE_CI_FAMILIES) $(GO) test -tags oracle -count=1 -timeout 10m -v -run '^TestOracle$$' ./internal/oracle/
