#!/bin/sh
# Starts one Apache Kafka node in KRaft combined mode (controller + broker) from environment
# variables, so the same image serves a single broker and a cluster on a Docker network.
#   KAFKA_NODE_ID        node id (default 1)
#   KAFKA_PORT           the client listener's port, inside the container AND on the host: the
#                        container is started with that port bound to the same host port, so the
#                        advertised address localhost:$KAFKA_PORT works from the host and survives
#                        a container restart (default 9092)
#   KAFKA_ADVERTISED_HOST host clients dial (default localhost)
#   KAFKA_VOTERS         controller.quorum.voters (default $KAFKA_NODE_ID@<hostname>:9094)
#   KAFKA_CLUSTER_ID     the cluster id all nodes are formatted with
#   KAFKA_REPLICATION    replication factor of the offsets and transaction topics (default 1)
#   KAFKA_EXTRA_CONFIG   more server.properties lines (newline separated), appended last
#   KAFKA_HEAP_OPTS      JVM heap options (default -Xms256m -Xmx768m)
set -eu
id=${KAFKA_NODE_ID:-1}
port=${KAFKA_PORT:-9092}
host=${KAFKA_ADVERTISED_HOST:-localhost}
me=$(hostname)
voters=${KAFKA_VOTERS:-$id@$me:9094}
cluster=${KAFKA_CLUSTER_ID:-cmlsbC1pbnRlZ3JhdGlvbg}
rf=${KAFKA_REPLICATION:-1}
minisr=1
if [ "$rf" -gt 1 ]; then minisr=2; fi
cfg=/var/lib/kafka/server.properties
mkdir -p /var/lib/kafka/data
cat >"$cfg" <<CFG
process.roles=broker,controller
node.id=$id
controller.quorum.voters=$voters
listeners=PLAINTEXT://0.0.0.0:$port,BROKER://0.0.0.0:9093,CONTROLLER://0.0.0.0:9094
advertised.listeners=PLAINTEXT://$host:$port,BROKER://$me:9093
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,BROKER:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=BROKER
controller.listener.names=CONTROLLER
log.dirs=/var/lib/kafka/data
num.partitions=1
auto.create.topics.enable=true
default.replication.factor=$rf
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=$minisr
transaction.state.log.num.partitions=10
min.insync.replicas=$minisr
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=1000
log.segment.bytes=16777216
share.coordinator.state.topic.replication.factor=$rf
share.coordinator.state.topic.min.isr=$minisr
CFG
if [ -n "${KAFKA_EXTRA_CONFIG:-}" ]; then printf '%s\n' "$KAFKA_EXTRA_CONFIG" >>"$cfg"; fi
cp=/opt/kafka/libs/*
log="-Dlog4j2.configurationFile=/opt/kafka/log4j2.properties"
java $log -cp "$cp" kafka.tools.StorageTool format -t "$cluster" -c "$cfg" --ignore-formatted
exec java ${KAFKA_HEAP_OPTS:--Xms256m -Xmx768m} -XX:+UseG1GC -Djava.awt.headless=true $log -cp "$cp" kafka.Kafka "$cfg"
