package state

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// ErrHistoryRetention is returned for a versioned store whose history retention is negative.
var ErrHistoryRetention = errors.New("rill: versioned store history retention must not be negative")

// VersionedBytes is one version of a key in a versioned store: its value, the timestamp from
// which it is valid and the timestamp (exclusive) to which it is (NoValidTo for the latest).
type VersionedBytes struct {
	Value     []byte
	Timestamp int64
	ValidTo   int64
}

// VersionedBytesStore is a versioned key-value store of bytes (Kafka Streams'
// VersionedKeyValueStore, KIP-889): it keeps, per key, every version written within history
// retention, each valid from its timestamp until the next version's, and answers what the
// value of a key was as of a time.
//
// Observed stream time is the largest timestamp put so far. Writes older than observed
// stream time minus history retention are refused (Put reports them not stored), queries as
// of such a time return nothing unless the key's latest version answers them (the latest
// version never expires), and history versions that stopped being valid before it are
// dropped. These are Kafka Streams' rules; unlike its segments, which drop whole segment
// intervals late, the store drops each version as soon as it expires.
//
// It is built on a KeyValueBytesStore of either backend (see versioned_format.go for the
// layout), so it is in memory or in RocksDB, and transactional under exactly-once, as that
// store is. Like every store it belongs to one task's goroutine.
type VersionedBytesStore struct {
	kv        KeyValueBytesStore
	name      string
	retention int64
	sink      ChangelogSink // nil: not logged (or restoring)

	streamTime int64 // math.MinInt64 until the first put
	// minExpiry is a lower bound of the expiry index's smallest validTo, so that puts skip
	// the index scan until something may have expired (math.MinInt64: unknown, scan).
	minExpiry int64
	vbuf      []byte // scratch store values (writes only: the task's goroutine)
}

// NewVersionedBytesStore keeps a versioned store named name in kv (which it owns from then on)
// with historyRetention milliseconds of history. sink, when not nil, receives its changelog.
func NewVersionedBytesStore(name string, kv KeyValueBytesStore, historyRetention int64, sink ChangelogSink) (*VersionedBytesStore, error) {
	if historyRetention < 0 {
		return nil, fmt.Errorf("%w: store %s has %d ms", ErrHistoryRetention, name, historyRetention)
	}
	s := &VersionedBytesStore{kv: kv, name: name, retention: historyRetention, sink: sink,
		streamTime: math.MinInt64, minExpiry: math.MinInt64}
	b, err := kv.Get(versionedStreamTimeKey)
	if err != nil {
		return nil, err
	}
	if len(b) == 8 {
		s.streamTime = int64(binary.BigEndian.Uint64(b))
	}
	return s, nil
}

// Name, Flush and Close make the store a processor.Store.
func (s *VersionedBytesStore) Name() string { return s.name }
func (s *VersionedBytesStore) Flush() error { return s.kv.Flush() }
func (s *VersionedBytesStore) Close() error { return s.kv.Close() }

// Persistent tells whether the store underneath keeps its data on disk.
func (s *VersionedBytesStore) Persistent() bool { return s.kv.Persistent() }

// HistoryRetention is how long history is kept, in milliseconds of observed stream time.
func (s *VersionedBytesStore) HistoryRetention() int64 { return s.retention }

// ObservedStreamTime is the largest timestamp put so far (math.MinInt64 before the first).
func (s *VersionedBytesStore) ObservedStreamTime() int64 { return s.streamTime }

// expired tells whether ts is older than observed stream time minus history retention.
func (s *VersionedBytesStore) expired(ts int64) bool {
	return s.streamTime != math.MinInt64 && ts < s.streamTime-s.retention
}

// Put writes value as key's version from ts (a nil value writes a tombstone: the key has no
// value from ts). It returns the new version's validTo: NoValidTo when it is the key's latest
// version, else the timestamp of the next one (an out-of-order write goes into history).
// stored is false when ts is older than observed stream time minus history retention: the
// write is refused, as Kafka Streams refuses it, and the caller should count it as dropped.
func (s *VersionedBytesStore) Put(key, value []byte, ts int64) (validTo int64, stored bool, err error) {
	if s.expired(ts) {
		return 0, false, nil
	}
	validTo, err = s.put(key, value, ts)
	if err != nil {
		return 0, false, err
	}
	if s.sink != nil {
		if err := s.sink.Log(s.name, versionedChangelogKey(key, ts), versionedChangelogValue(value)); err != nil {
			return 0, false, err
		}
	}
	return validTo, true, s.expire()
}

// Delete writes a tombstone at ts (Put with a nil value) and returns the version that was
// valid at ts, if any. A ts older than observed stream time minus history retention writes
// nothing and returns nothing, with stored false.
func (s *VersionedBytesStore) Delete(key []byte, ts int64) (prev VersionedBytes, found, stored bool, err error) {
	if s.expired(ts) {
		return prev, false, false, nil
	}
	if prev, found, err = s.GetAsOf(key, ts); err != nil {
		return prev, false, false, err
	}
	_, stored, err = s.Put(key, nil, ts)
	return prev, found, stored, err
}

// Get returns key's latest version; found is false when there is none or it is a tombstone.
func (s *VersionedBytesStore) Get(key []byte) (VersionedBytes, bool, error) {
	l, ok, err := s.latest(key)
	if err != nil || !ok || l.tombstone {
		return VersionedBytes{}, false, err
	}
	return VersionedBytes{Value: clone(l.value), Timestamp: l.ts, ValidTo: NoValidTo}, true, nil
}

// GetAsOf returns the version of key valid at asOf: the one with the largest timestamp at
// or before asOf, unless that is a tombstone. Past history retention (asOf older than
// observed stream time minus history retention) only the latest version can answer.
func (s *VersionedBytesStore) GetAsOf(key []byte, asOf int64) (VersionedBytes, bool, error) {
	l, ok, err := s.latest(key)
	if err != nil {
		return VersionedBytes{}, false, err
	}
	if ok && l.ts <= asOf {
		if l.tombstone {
			return VersionedBytes{}, false, nil
		}
		return VersionedBytes{Value: clone(l.value), Timestamp: l.ts, ValidTo: NoValidTo}, true, nil
	}
	if s.expired(asOf) {
		return VersionedBytes{}, false, nil
	}
	from, h, ok, err := s.historyAtOrBefore(key, asOf)
	if err != nil || !ok || h.tombstone || h.ts <= asOf {
		return VersionedBytes{}, false, err
	}
	return VersionedBytes{Value: clone(h.value), Timestamp: from, ValidTo: h.ts}, true, nil
}

func clone(b []byte) []byte { return append(make([]byte, 0, len(b)), b...) }

// latest reads key's latest entry.
func (s *VersionedBytesStore) latest(key []byte) (version, bool, error) {
	// A fresh key, not a scratch buffer: interactive queries read through here too.
	b, err := s.kv.Get(latestKey(nil, key))
	if err != nil || b == nil {
		return version{}, false, err
	}
	v, err := decodeVersion(b)
	return v, err == nil, err
}

// historyAtOrBefore finds key's history version with the largest validFrom at or before ts.
func (s *VersionedBytesStore) historyAtOrBefore(key []byte, ts int64) (from int64, v version, ok bool, err error) {
	lo := historyKey(nil, key, math.MinInt64)
	hi := historyKey(nil, key, ts)
	return s.firstHistory(lo, hi, true)
}

// historyAfter finds key's history version with the smallest validFrom after ts.
func (s *VersionedBytesStore) historyAfter(key []byte, ts int64) (from int64, v version, ok bool, err error) {
	if ts == math.MaxInt64 {
		return 0, version{}, false, nil
	}
	lo := historyKey(nil, key, ts+1)
	hi := historyKey(nil, key, math.MaxInt64)
	return s.firstHistory(lo, hi, false)
}

func (s *VersionedBytesStore) firstHistory(lo, hi []byte, reverse bool) (from int64, v version, ok bool, err error) {
	var it KeyValueIterator
	if reverse {
		it, err = s.kv.ReverseRange(lo, hi)
	} else {
		it, err = s.kv.Range(lo, hi)
	}
	if err != nil {
		return 0, version{}, false, err
	}
	defer it.Close()
	if !it.Next() {
		return 0, version{}, false, it.Err()
	}
	from = historyFrom(it.Key())
	v, err = decodeVersion(it.Value())
	if err != nil {
		return 0, version{}, false, err
	}
	v.value = clone(v.value)
	return from, v, true, nil
}

// put applies a write that is not expired, without logging it.
func (s *VersionedBytesStore) put(key, value []byte, ts int64) (validTo int64, err error) {
	if ts > s.streamTime {
		s.streamTime = ts
		if err := s.kv.Put(versionedStreamTimeKey, binary.BigEndian.AppendUint64(nil, uint64(ts))); err != nil {
			return 0, err
		}
	}
	tomb := value == nil
	l, ok, err := s.latest(key)
	if err != nil {
		return 0, err
	}
	switch {
	case !ok || ts >= l.ts:
		if ok && l.tombstone {
			// The latest tombstone is replaced or moves to history: its expiry entry goes.
			if err := s.kv.Put(expiryKey(nil, key, l.ts, l.ts), nil); err != nil {
				return 0, err
			}
		}
		if ok && ts > l.ts {
			// The latest version becomes history, valid until ts.
			if err := s.putHistory(key, l.ts, ts, l.tombstone, l.value); err != nil {
				return 0, err
			}
		}
		if err := s.putLatest(key, ts, tomb, value); err != nil {
			return 0, err
		}
		return NoValidTo, nil
	}
	// Out of order: older than the latest version, the write goes into history.
	from, h, found, err := s.historyAtOrBefore(key, ts)
	if err != nil {
		return 0, err
	}
	switch {
	case found && from == ts:
		// Replaces the version from ts, which keeps its end.
		return h.ts, s.overwriteHistory(key, ts, h.ts, tomb, value)
	case found && h.ts > ts:
		// Splits the version that covers ts: it now ends at ts, the new one takes its end.
		if err := s.kv.Put(expiryKey(nil, key, h.ts, from), nil); err != nil {
			return 0, err
		}
		if err := s.putHistory(key, from, ts, h.tombstone, h.value); err != nil {
			return 0, err
		}
		return h.ts, s.putHistory(key, ts, h.ts, tomb, value)
	}
	// No version covers ts (it is before the first kept): valid until the next one.
	next := l.ts
	if nf, _, ok, err := s.historyAfter(key, ts); err != nil {
		return 0, err
	} else if ok {
		next = nf
	}
	return next, s.putHistory(key, ts, next, tomb, value)
}

func (s *VersionedBytesStore) putLatest(key []byte, from int64, tomb bool, value []byte) error {
	s.vbuf = encodeVersion(s.vbuf, from, tomb, value)
	if err := s.kv.Put(latestKey(nil, key), s.vbuf); err != nil {
		return err
	}
	if tomb {
		return s.addExpiry(key, from, from, expiryTombstone)
	}
	return nil
}

// putHistory writes a history version [from, to) and its expiry entry.
func (s *VersionedBytesStore) putHistory(key []byte, from, to int64, tomb bool, value []byte) error {
	if err := s.overwriteHistory(key, from, to, tomb, value); err != nil {
		return err
	}
	return s.addExpiry(key, to, from, expiryHistory)
}

// overwriteHistory writes a history version whose expiry entry is already right.
func (s *VersionedBytesStore) overwriteHistory(key []byte, from, to int64, tomb bool, value []byte) error {
	s.vbuf = encodeVersion(s.vbuf, to, tomb, value)
	return s.kv.Put(historyKey(nil, key, from), s.vbuf)
}

func (s *VersionedBytesStore) addExpiry(key []byte, validTo, validFrom int64, kind byte) error {
	if s.minExpiry != math.MinInt64 && validTo < s.minExpiry {
		s.minExpiry = validTo
	}
	return s.kv.Put(expiryKey(nil, key, validTo, validFrom), []byte{kind})
}

// expire drops the versions no query can see any more: history versions that stopped being
// valid at or before observed stream time minus history retention, and latest tombstones
// from then (the versions before them are gone too, so they mark nothing). Each drop is
// logged as a null for the version's changelog key, so compaction removes it from the topic.
func (s *VersionedBytesStore) expire() error {
	if s.streamTime == math.MinInt64 || s.streamTime-s.retention > s.streamTime {
		return nil // no stream time yet, or the bound underflows: nothing is old enough
	}
	bound := s.streamTime - s.retention
	if s.minExpiry != math.MinInt64 && s.minExpiry > bound {
		return nil
	}
	type entry struct {
		idx, key  []byte
		from      int64
		tombstone bool
	}
	var drop []entry
	it, err := s.kv.PrefixScan([]byte{versionedExpiry})
	if err != nil {
		return err
	}
	s.minExpiry = math.MaxInt64
	for it.Next() {
		key, validTo, from, err := parseExpiryKey(it.Key())
		if err != nil {
			it.Close()
			return err
		}
		if validTo > bound {
			s.minExpiry = validTo
			break
		}
		drop = append(drop, entry{idx: clone(it.Key()), key: clone(key), from: from,
			tombstone: len(it.Value()) == 1 && it.Value()[0] == expiryTombstone})
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return err
	}
	for _, e := range drop {
		if e.tombstone {
			l, ok, err := s.latest(e.key)
			if err != nil {
				return err
			}
			if ok && l.tombstone && l.ts == e.from {
				if _, err := s.kv.Delete(latestKey(nil, e.key)); err != nil {
					return err
				}
			}
		} else if _, err := s.kv.Delete(historyKey(nil, e.key, e.from)); err != nil {
			return err
		}
		if _, err := s.kv.Delete(e.idx); err != nil {
			return err
		}
		if s.sink != nil {
			if err := s.sink.Log(s.name, versionedChangelogKey(e.key, e.from), nil); err != nil {
				return err
			}
		}
	}
	return nil
}

// Restore applies one changelog record (see versioned_format.go) without logging it. A null
// value (a version that expired) needs nothing: replaying the versions moves observed stream
// time as it moved when they were written, which expires the same versions.
func (s *VersionedBytesStore) Restore(key, value []byte) error {
	if value == nil {
		return nil
	}
	k, ts, err := parseVersionedChangelogKey(key)
	if err != nil {
		return err
	}
	if len(value) < 1 || value[0] > versionTombstone {
		return fmt.Errorf("rill: versioned changelog value of store %s: bad flag", s.name)
	}
	if s.expired(ts) {
		return nil // expired since it was written: the write would be refused now
	}
	v := value[1:]
	if value[0] == versionTombstone {
		v = nil
	}
	if _, err := s.put(k, v, ts); err != nil {
		return err
	}
	return s.expire()
}

// KeyValue returns the byte store the versions are kept in (layout in versioned_format.go).
func (s *VersionedBytesStore) KeyValue() KeyValueBytesStore { return s.kv }
