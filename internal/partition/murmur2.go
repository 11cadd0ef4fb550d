// Package partition picks partitions for keys exactly as Kafka's default partitioner does, so
// that records keyed alike by rill, by Java clients and by franz-go's compatible partitioner land
// in the same partition.
package partition

// Murmur2 is Kafka's 32-bit murmur2 hash (org.apache.kafka.common.utils.Utils.murmur2).
func Murmur2(data []byte) int32 {
	const (
		seed uint32 = 0x9747b28c
		m    uint32 = 0x5bd1e995
		r           = 24
	)
	n := len(data)
	h := seed ^ uint32(n)
	i := 0
	for ; i+4 <= n; i += 4 {
		k := uint32(data[i]) | uint32(data[i+1])<<8 | uint32(data[i+2])<<16 | uint32(data[i+3])<<24
		k *= m
		k ^= k >> r
		k *= m
		h *= m
		h ^= k
	}
	switch n - i {
	case 3:
		h ^= uint32(data[i+2]) << 16
		fallthrough
	case 2:
		h ^= uint32(data[i+1]) << 8
		fallthrough
	case 1:
		h ^= uint32(data[i])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// ForKey returns the partition Kafka's default partitioner picks for a non-nil key among n
// partitions: toPositive(murmur2(key)) % n.
func ForKey(key []byte, n int32) int32 {
	return int32(uint32(Murmur2(key))&0x7fffffff) % n
}
