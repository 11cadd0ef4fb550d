package rocksdb

import (
	"encoding/binary"
)

// Window and session keys put the record key first and a time after it, so that one key's
// windows are contiguous and in time order. A raw key followed by a time would make key "a"
// windows interleave with key "ab" ones ("a"+time can sort after "ab"), so keys are escaped
// with an order-preserving encoding instead: 0x00 becomes 0x00 0xff and the key ends with
// 0x00 0x01. Escaped keys (with anything after them) sort exactly as the raw keys do, and
// esc(k)+0x00 0x02 is the smallest byte string above every entry of k, which gives exact seek
// bounds without fetching and filtering as Kafka Streams does.
const (
	escByte  = 0x00
	escZero  = 0xff // 0x00 in the key
	escEnd   = 0x01 // end of the key
	escAfter = 0x02 // above every entry of the key
)

// appendKey appends the escaped form of key, terminator included.
func appendKey(dst, key []byte) []byte {
	for _, c := range key {
		if c == escByte {
			dst = append(dst, escByte, escZero)
			continue
		}
		dst = append(dst, c)
	}
	return append(dst, escByte, escEnd)
}

// appendKeyAfter appends the smallest byte string above every entry of key: a key-range
// upper bound that includes key.
func appendKeyAfter(dst, key []byte) []byte {
	dst = appendKey(dst, key)
	dst[len(dst)-1] = escAfter
	return dst
}

// readKey decodes an escaped key at the start of src into dst[:0] and returns it with the
// rest of src. ok is false on bytes this package did not write (a corrupt store), which the
// callers report as an error rather than panicking.
func readKey(dst, src []byte) (key, rest []byte, ok bool) {
	dst = dst[:0]
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c != escByte {
			dst = append(dst, c)
			continue
		}
		if i+1 >= len(src) {
			return dst, nil, false
		}
		switch src[i+1] {
		case escZero:
			dst = append(dst, escByte)
			i++
		case escEnd:
			return dst, src[i+2:], true
		default:
			return dst, nil, false
		}
	}
	return dst, nil, false
}

// Times are big-endian with the sign bit flipped, so that byte order is numeric order and
// negative times sort before positive ones.
const timeLen = 8

func appendTime(dst []byte, t int64) []byte {
	return binary.BigEndian.AppendUint64(dst, uint64(t)^(1<<63))
}

func readTime(src []byte) int64 {
	return int64(binary.BigEndian.Uint64(src) ^ (1 << 63))
}

// appendSeq appends the sequence number that keeps duplicates apart (RetainDuplicates), big
// endian so that duplicates iterate in insertion order. It wraps after 2^32 Puts, as Kafka
// Streams' does: duplicates of one key and window put across the wrap iterate out of order.
func appendSeq(dst []byte, seq uint32) []byte {
	return binary.BigEndian.AppendUint32(dst, seq)
}

// successor returns the smallest byte string above every string starting with prefix, or nil
// when there is none (prefix empty or all 0xff): the exclusive upper bound of a prefix scan.
func successor(dst, prefix []byte) []byte {
	for i := len(prefix) - 1; i >= 0; i-- {
		if prefix[i] != 0xff {
			dst = append(dst[:0], prefix[:i+1]...)
			dst[i]++
			return dst
		}
	}
	return nil
}

// floorDiv is a/b rounded towards minus infinity (b > 0): segment ids of negative times.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && a < 0 {
		q--
	}
	return q
}
