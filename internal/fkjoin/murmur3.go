package fkjoin

import (
	"encoding/binary"
	"math/bits"
)

// murmur3Seed is Kafka Streams' Murmur3.DEFAULT_SEED, so hashes of equal bytes are equal to a
// Java application's.
const murmur3Seed = 104729

// Hash is a 128-bit hash of a serialized table value: the foreign-key join tags each
// subscription with the hash of the left value it was made for, and drops responses whose
// hash no longer matches the current value (they answer a superseded subscription).
type Hash [2]uint64

// Murmur3 returns the MurmurHash3 x64 128-bit hash of data with Kafka Streams' seed
// (Murmur3.hash128).
func Murmur3(data []byte) Hash { return murmur3x64_128(data, murmur3Seed) }

func murmur3x64_128(data []byte, seed uint32) Hash {
	const (
		c1 = 0x87c37b91114253d5
		c2 = 0x4cf5ad432745937f
	)
	// Java widens the int seed to a long with sign extension.
	h1 := uint64(int64(int32(seed)))
	h2 := h1
	n := len(data)
	blocks := n / 16
	for i := 0; i < blocks; i++ {
		k1 := binary.LittleEndian.Uint64(data[i*16:])
		k2 := binary.LittleEndian.Uint64(data[i*16+8:])
		k1 *= c1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= c2
		h1 ^= k1
		h1 = bits.RotateLeft64(h1, 27)
		h1 += h2
		h1 = h1*5 + 0x52dce729

		k2 *= c2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= c1
		h2 ^= k2
		h2 = bits.RotateLeft64(h2, 31)
		h2 += h1
		h2 = h2*5 + 0x38495ab5
	}
	tail := data[blocks*16:]
	var k1, k2 uint64
	for i := len(tail) - 1; i >= 8; i-- {
		k2 ^= uint64(tail[i]) << (8 * (i - 8))
	}
	if len(tail) > 8 {
		k2 *= c2
		k2 = bits.RotateLeft64(k2, 33)
		k2 *= c1
		h2 ^= k2
	}
	for i := min(len(tail), 8) - 1; i >= 0; i-- {
		k1 ^= uint64(tail[i]) << (8 * i)
	}
	if len(tail) > 0 {
		k1 *= c1
		k1 = bits.RotateLeft64(k1, 31)
		k1 *= c2
		h1 ^= k1
	}
	h1 ^= uint64(n)
	h2 ^= uint64(n)
	h1 += h2
	h2 += h1
	h1 = fmix64(h1)
	h2 = fmix64(h2)
	h1 += h2
	h2 += h1
	return Hash{h1, h2}
}

func fmix64(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}
