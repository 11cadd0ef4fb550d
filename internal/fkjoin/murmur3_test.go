package fkjoin

import "testing"

// The expected hashes are Kafka Streams' own: streams/.../state/internals/Murmur3.java
// (Murmur3.hash128 with its DEFAULT_SEED), compiled and run on these inputs. The seed-0
// vectors are MurmurHash3_x64_128's published ones (e.g. Python's mmh3).
func TestMurmur3MatchesKafka(t *testing.T) {
	cases := []struct {
		in     string
		h1, h2 uint64
	}{
		{"", 0x9d2764a018e32942, 0x8c3cf3b035938518},
		{"a", 0x3361634e7e0f5188, 0xe9c7dda24eae326b},
		{"hello", 0x30bfb4f39919e764, 0x566aea857401d1c6},
		{"The quick brown fox jumps over the lazy dog", 0xe74c5921af0f99c8, 0xb7f85ec81df06726},
		{"0123456789abcdef", 0x1a6e941ec6a76967, 0xd7d82808f505d6b1},  // one block, no tail
		{"0123456789abcdefg", 0xa93635c3ece7b605, 0xaeed6784d1b08b32}, // one block, 1-byte tail
		{"x1|1", 0x7b0350cadb968a49, 0x9481464a869f2ead},
	}
	for _, c := range cases {
		if got := Murmur3([]byte(c.in)); got != (Hash{c.h1, c.h2}) {
			t.Errorf("Murmur3(%q) = %016x %016x, want %016x %016x", c.in, got[0], got[1], c.h1, c.h2)
		}
	}
	seed0 := []struct {
		in     string
		h1, h2 uint64
	}{
		{"", 0, 0},
		{"hello", 0xcbd8a7b341bd9b02, 0x5b1e906a48ae1d19},
		{"The quick brown fox jumps over the lazy dog", 0xe34bbc7bbc071b6c, 0x7a433ca9c49a9347},
	}
	for _, c := range seed0 {
		if got := murmur3x64_128([]byte(c.in), 0); got != (Hash{c.h1, c.h2}) {
			t.Errorf("murmur3(%q, 0) = %016x %016x, want %016x %016x", c.in, got[0], got[1], c.h1, c.h2)
		}
	}
}

// Every tail length goes through its own branch: hashes of all prefixes differ.
func TestMurmur3TailLengths(t *testing.T) {
	data := []byte("abcdefghijklmnopqrstuvwxyz0123456789")
	seen := map[Hash]int{}
	for n := 0; n <= len(data); n++ {
		h := Murmur3(data[:n])
		if m, ok := seen[h]; ok {
			t.Fatalf("prefixes of length %d and %d hash alike", m, n)
		}
		seen[h] = n
	}
}

func BenchmarkMurmur3(b *testing.B) {
	data := make([]byte, 100)
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		Murmur3(data)
	}
}
