package rill

import (
	"fmt"
	"slices"

	"github.com/rillstreams/rill/internal/partition"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
)

// KeyQueryMetadata tells where a store's key lives (Kafka Streams' KeyQueryMetadata): the
// application.server (host:port) of the instance running its task as active, those keeping
// standby replicas, and the partition. Active is "" while no instance runs the task (during a
// rebalance) or when instances set no ApplicationServer.
type KeyQueryMetadata struct {
	Active    string   `json:"active"`
	Standbys  []string `json:"standbys,omitempty"`
	Partition int32    `json:"partition"`
}

// StreamsMetadata describes one instance of the application (Kafka Streams'
// StreamsMetadata): its application.server, the stores of its active and standby tasks and
// those tasks.
type StreamsMetadata struct {
	Host          string             `json:"host"`
	Stores        []string           `json:"stores"`
	StandbyStores []string           `json:"standbyStores,omitempty"`
	Active        []processor.TaskID `json:"active"`
	Standby       []processor.TaskID `json:"standby,omitempty"`
}

// Host returns the instance's own application.server (Config.ApplicationServer).
func (a *App) Host() string { return a.cfg.ApplicationServer }

// keyPartition serializes key for store and returns the partition the store's partitioner
// puts it in: Kafka's default (murmur2 of the serialized key, by the source topic with the
// most partitions), which is how rill and Kafka's producers partition keyed records.
func keyPartition[K any](a *App, store string, key K, ks serde.Serde[K]) ([]byte, int32, error) {
	info, err := a.rt.Store(store)
	if err != nil {
		return nil, 0, err
	}
	if info.Partitions == 0 {
		return nil, 0, fmt.Errorf("%w: store %s: partition counts not known yet", ErrNotRunning, store)
	}
	kb, err := ks.Serialize(info.Topic, key)
	if err != nil {
		return nil, 0, fmt.Errorf("rill: store %s: serialize key: %w", store, err)
	}
	if kb == nil {
		return nil, 0, fmt.Errorf("rill: store %s: key serializes to nil", store)
	}
	return kb, partition.ForKey(kb, info.Partitions), nil
}

// QueryMetadataForKey returns where key of store lives, from the latest assignment this
// instance received (Kafka Streams' queryMetadataForKey). ks must be the key serde the store's
// input is partitioned by.
func QueryMetadataForKey[K any](a *App, store string, key K, ks serde.Serde[K]) (KeyQueryMetadata, error) {
	_, part, err := keyPartition(a, store, key, ks)
	if err != nil {
		return KeyQueryMetadata{}, err
	}
	info, _ := a.rt.Store(store)
	task := processor.TaskID{Subtopology: info.Subtopology, Partition: part}
	hosts := a.rt.Hosts()
	md := KeyQueryMetadata{Partition: part}
	for _, h := range sortedKeys(hosts.Active) {
		if slices.Contains(hosts.Active[h], task) {
			md.Active = h
		}
	}
	for _, h := range sortedKeys(hosts.Standby) {
		if slices.Contains(hosts.Standby[h], task) {
			md.Standbys = append(md.Standbys, h)
		}
	}
	return md, nil
}

// AllMetadata describes every instance of the application that sets an ApplicationServer,
// from the latest assignment (Kafka Streams' metadataForAllStreamsClients), by host.
func (a *App) AllMetadata() []StreamsMetadata {
	hosts := a.rt.Hosts()
	names := a.rt.StoreNames()
	seen := map[string]bool{}
	var out []StreamsMetadata
	for _, h := range append(sortedKeys(hosts.Active), sortedKeys(hosts.Standby)...) {
		if seen[h] {
			continue
		}
		seen[h] = true
		md := StreamsMetadata{Host: h, Active: hosts.Active[h], Standby: hosts.Standby[h], Stores: []string{}}
		md.Stores = storesOf(md.Active, names)
		md.StandbyStores = storesOf(md.Standby, names)
		out = append(out, md)
	}
	return out
}

// AllMetadataForStore is AllMetadata narrowed to the instances hosting store (active or
// standby).
func (a *App) AllMetadataForStore(store string) ([]StreamsMetadata, error) {
	if _, err := a.rt.Store(store); err != nil {
		return nil, err
	}
	var out []StreamsMetadata
	for _, md := range a.AllMetadata() {
		if slices.Contains(md.Stores, store) || slices.Contains(md.StandbyStores, store) {
			out = append(out, md)
		}
	}
	return out, nil
}

func storesOf(tasks []processor.TaskID, names map[int][]string) []string {
	set := map[string]bool{}
	for _, t := range tasks {
		for _, n := range names[t.Subtopology] {
			set[n] = true
		}
	}
	out := sortedKeys(set)
	if out == nil {
		out = []string{}
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
