#!/usr/bin/env bash
# Builds the rill-kafka:<version> image locally, with no image registry:
#   1. the Apache Kafka broker jars (pinned version) and their runtime dependencies from Maven
#      Central, cached in $RILL_CACHE (default ~/.cache/rill), outside git;
#   2. a Debian bookworm base with a headless JRE 17: debootstrap (minbase) + apt in a chroot,
#      imported with `docker import` as rill-debian-jre17:bookworm;
#   3. the image itself (Dockerfile beside this script).
# Each step is skipped when its result exists; FORCE=1 rebuilds the image (not the cache).
# Needs root (debootstrap, chroot), docker, mvn.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=${KAFKA_VERSION:-4.1.1}
image=rill-kafka:$version
base=rill-debian-jre17:bookworm
cache=${RILL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rill}
start=$(date +%s)

if [ "${FORCE:-0}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
	echo "kafka-image: $image present"
	exit 0
fi

libs=$cache/kafka-$version/libs
if [ ! -f "$libs/.complete" ]; then
	echo "kafka-image: fetching Apache Kafka $version jars with Maven into $libs"
	rm -rf "$libs"
	mvn -q -B -f "$here/pom.xml" -Dkafka.version="$version" dependency:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory="$libs"
	touch "$libs/.complete"
fi

if ! docker image inspect "$base" >/dev/null 2>&1; then
	echo "kafka-image: building $base (debootstrap bookworm + openjdk-17-jre-headless)"
	rootfs=$(mktemp -d -t rill-rootfs.XXXXXX)
	cleanup() { umount "$rootfs/proc" 2>/dev/null || true; rm -rf "$rootfs"; }
	trap cleanup EXIT
	debootstrap --variant=minbase bookworm "$rootfs" http://deb.debian.org/debian >/dev/null
	mount -t proc proc "$rootfs/proc"
	cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
	chroot "$rootfs" /bin/sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends openjdk-17-jre-headless >/dev/null && apt-get clean && rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man'
	umount "$rootfs/proc"
	: >"$rootfs/etc/resolv.conf"
	tar -C "$rootfs" -c . | docker import - "$base" >/dev/null
	cleanup
	trap - EXIT
fi

ctx=$(mktemp -d -t rill-kafka-ctx.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
cp -r "$libs" "$ctx/libs"
rm -f "$ctx/libs/.complete"
cp "$here/Dockerfile" "$here/entrypoint.sh" "$here/log4j2.properties" "$ctx/"
docker build -q --build-arg BASE="$base" -t "$image" "$ctx" >/dev/null
echo "kafka-image: built $image in $(( $(date +%s) - start )) s"
