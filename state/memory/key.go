package memory

import (
	"bytes"
	"encoding/binary"
)

// ikey is a key with its first 16 bytes inline, as two big-endian integers padded with
// zeros. Tree nodes hold items by value, so comparing the inline prefixes reads only the node
// being searched: most comparisons end there instead of chasing each key's bytes to another
// cache line. Keys of 16 bytes or less (ids, serialized numbers) never need their bytes read.
//
// Prefix order agrees with byte order: where two padded prefixes first differ, either both
// keys have real bytes there, or the shorter key has padding (0) against a byte above 0, and
// the shorter key is the smaller. Equal prefixes fall back to the bytes.
type ikey struct {
	p0, p1 uint64
	key    []byte
}

func makeKey(k []byte) ikey {
	var buf [16]byte
	copy(buf[:], k)
	return ikey{p0: binary.BigEndian.Uint64(buf[:8]), p1: binary.BigEndian.Uint64(buf[8:]), key: k}
}

func compareKeys(a, b *ikey) int {
	switch {
	case a.p0 != b.p0:
		if a.p0 < b.p0 {
			return -1
		}
		return 1
	case a.p1 != b.p1:
		if a.p1 < b.p1 {
			return -1
		}
		return 1
	case len(a.key) <= 16 && len(b.key) <= 16:
		// Equal padded prefixes of short keys: one may be the other plus trailing zeros.
		return len(a.key) - len(b.key)
	}
	return bytes.Compare(a.key[min(16, len(a.key)):], b.key[min(16, len(b.key)):])
}
