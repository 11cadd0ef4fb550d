package partition

import "testing"

// Expected values are those of Kafka's UtilsTest.testMurmur2 (Java), which pins its hash.
func TestMurmur2MatchesKafka(t *testing.T) {
	cases := map[string]int32{
		"21":                         -973932308,
		"foobar":                     -790332482,
		"a-little-bit-long-string":   -985981536,
		"a-little-bit-longer-string": -1486304829,
		"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
	}
	for in, want := range cases {
		if got := Murmur2([]byte(in)); got != want {
			t.Errorf("Murmur2(%q) = %d, want %d", in, got, want)
		}
	}
	if got := Murmur2([]byte{'a', 'b', 'c'}); got != 479470107 {
		t.Errorf("Murmur2(abc) = %d, want 479470107", got)
	}
}

func TestForKeyInRange(t *testing.T) {
	for i := 0; i < 1000; i++ {
		p := ForKey([]byte{byte(i), byte(i >> 8), 7}, 8)
		if p < 0 || p >= 8 {
			t.Fatalf("partition %d out of range", p)
		}
	}
}
