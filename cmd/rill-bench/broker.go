package main

import (
	"strconv"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

// startBroker starts the embedded broker of one row: kfake as kafkatest.Start configures it
// (one broker, topics auto-created with the given partitions), with compaction pushed out of
// the way (it would cost broker CPU mid-run and could compact goka's table topic before the
// watcher has read it), and two admin APIs held back for Kafka's Java admin client, which
// Kafka Streams creates its internal topics with:
//
//   - CreateTopics at most v4. From v5 the reply carries the new topic's configs, and kfake
//     leaves each config's ConfigSource at the protocol default, -1; KafkaAdminClient maps it
//     with DescribeConfigsResponse.ConfigSource.forId, which throws
//     IllegalArgumentException("id should be positive, id: -1"), so every internal topic
//     creation fails ("Could not create topic ...") although kfake created the topic.
//   - No DescribeTopicPartitions (KIP-966). kfake's reply leaves EligibleLeaderReplicas null
//     where Kafka sends an empty array, and KafkaAdminClient.describeTopics throws a
//     NullPointerException on it for any existing topic. Without the API the admin client
//     describes topics with Metadata, as before Kafka 3.8.
//
// franz-go (rill, the baselines) works with either; every row gets the same broker.
func startBroker(partitions int) (*kfake.Cluster, error) {
	versions := kversion.Stable()
	versions.SetMaxKeyVersion(kmsg.CreateTopics.Int16(), 4)
	versions.SetMaxKeyVersion(kmsg.DescribeTopicPartitions.Int16(), -1)
	return kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.AllowAutoTopicCreation(),
		kfake.DefaultNumPartitions(partitions),
		kfake.BrokerConfigs(map[string]string{"log.cleaner.backoff.ms": strconv.FormatInt(time.Hour.Milliseconds(), 10)}),
		kfake.MaxVersions(versions),
	)
}
