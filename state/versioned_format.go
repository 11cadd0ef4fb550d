package state

import (
	"encoding/binary"
	"fmt"
	"math"
)

// The layout of a versioned store inside the key-value byte store beneath it. Four kinds of
// entries, told apart by their first byte, so one store of either backend (memory or RocksDB,
// transactional or not) holds them all and commits them atomically:
//
//	meta     0x00 "stream-time"                      -> 8-byte observed stream time
//	latest   0x01 key                                -> validFrom(8) flag(1) value
//	history  0x02 len(key)(4) key flip(validFrom)(8) -> validTo(8) flag(1) value
//	expiry   0x03 flip(validTo)(8) len(key)(4) key flip(validFrom)(8) -> kind(1)
//
// flag is versionValue or versionTombstone. flip(t) is t with its sign bit inverted, so
// that negative timestamps sort before positive ones as unsigned big-endian bytes. The key
// length keeps one key's history contiguous (a key that is a prefix of another would
// otherwise interleave with it). The expiry index lists, by the time they stop being valid,
// the versions history retention drops: history versions (kind expiryHistory) and latest
// tombstones (kind expiryTombstone); a latest value never expires (as Kafka Streams).
const (
	versionedMeta    = 0x00
	versionedLatest  = 0x01
	versionedHistory = 0x02
	versionedExpiry  = 0x03

	versionValue     = 0
	versionTombstone = 1

	expiryHistory   = 'h'
	expiryTombstone = 't'
)

// NoValidTo is the ValidTo of a key's latest version: valid until a newer one comes.
const NoValidTo int64 = math.MaxInt64

var versionedStreamTimeKey = []byte("\x00stream-time")

func flipTs(t int64) uint64 { return uint64(t) ^ (1 << 63) }

func unflipTs(u uint64) int64 { return int64(u ^ (1 << 63)) }

func latestKey(buf, key []byte) []byte {
	return append(append(buf[:0], versionedLatest), key...)
}

// historyPrefix is the prefix of every history entry of key.
func historyPrefix(buf, key []byte) []byte {
	buf = append(buf[:0], versionedHistory, 0, 0, 0, 0)
	binary.BigEndian.PutUint32(buf[1:], uint32(len(key)))
	return append(buf, key...)
}

func historyKey(buf, key []byte, validFrom int64) []byte {
	buf = historyPrefix(buf, key)
	return binary.BigEndian.AppendUint64(buf, flipTs(validFrom))
}

// historyFrom is the validFrom of a history entry's store key.
func historyFrom(storeKey []byte) int64 {
	return unflipTs(binary.BigEndian.Uint64(storeKey[len(storeKey)-8:]))
}

func expiryKey(buf, key []byte, validTo, validFrom int64) []byte {
	buf = append(buf[:0], versionedExpiry)
	buf = binary.BigEndian.AppendUint64(buf, flipTs(validTo))
	buf = binary.BigEndian.AppendUint32(buf, uint32(len(key)))
	buf = append(buf, key...)
	return binary.BigEndian.AppendUint64(buf, flipTs(validFrom))
}

func parseExpiryKey(b []byte) (key []byte, validTo, validFrom int64, err error) {
	if len(b) < 21 || b[0] != versionedExpiry {
		return nil, 0, 0, fmt.Errorf("rill: versioned store: malformed expiry entry of %d bytes", len(b))
	}
	n := int(binary.BigEndian.Uint32(b[9:]))
	if len(b) != 21+n {
		return nil, 0, 0, fmt.Errorf("rill: versioned store: expiry entry of %d bytes for a key of %d", len(b), n)
	}
	return b[13 : 13+n], unflipTs(binary.BigEndian.Uint64(b[1:])), unflipTs(binary.BigEndian.Uint64(b[13+n:])), nil
}

// version is one decoded latest or history entry: ts is validFrom for latest entries and
// validTo for history entries.
type version struct {
	ts        int64
	tombstone bool
	value     []byte
}

func encodeVersion(buf []byte, ts int64, tombstone bool, value []byte) []byte {
	buf = binary.BigEndian.AppendUint64(buf[:0], uint64(ts))
	flag := byte(versionValue)
	if tombstone {
		flag = versionTombstone
	}
	return append(append(buf, flag), value...)
}

func decodeVersion(b []byte) (version, error) {
	if len(b) < 9 || b[8] > versionTombstone {
		return version{}, fmt.Errorf("rill: versioned store: malformed version entry of %d bytes", len(b))
	}
	return version{ts: int64(binary.BigEndian.Uint64(b)), tombstone: b[8] == versionTombstone, value: b[9:]}, nil
}

// The changelog of a versioned store has one record per version (docs/DECISIONS.md,
// "Versioned stores", says why it differs from Kafka Streams'):
//
//	key:   the key's bytes, then the version's timestamp (validFrom), 8 bytes big-endian
//	value: a flag byte, 0 for a value (its bytes follow) or 1 for a tombstone version;
//	       a null value says the version expired (history retention dropped it)
//
// The timestamp is in the key, not only in the record's timestamp as Kafka Streams writes it,
// because rill's changelog sink and restore carry keys and values only; and since each
// version has its own key, compaction keeps every version until the store logs its expiry,
// which bounds the topic by history retention without min.compaction.lag.ms.
func versionedChangelogKey(key []byte, ts int64) []byte {
	out := make([]byte, len(key)+8)
	copy(out, key)
	binary.BigEndian.PutUint64(out[len(key):], uint64(ts))
	return out
}

func parseVersionedChangelogKey(b []byte) (key []byte, ts int64, err error) {
	if len(b) < 8 {
		return nil, 0, fmt.Errorf("rill: versioned changelog key of %d bytes, need at least 8", len(b))
	}
	n := len(b) - 8
	return b[:n], int64(binary.BigEndian.Uint64(b[n:])), nil
}

func versionedChangelogValue(value []byte) []byte {
	if value == nil {
		return []byte{versionTombstone}
	}
	out := make([]byte, 1+len(value))
	copy(out[1:], value)
	return out
}
