package memory

import (
	"bytes"
	"math/rand/v2"
	"testing"
)

func TestCompareKeysAgreesWithBytes(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	alphabet := []byte{0, 1, 'a', 0xfe, 0xff}
	key := func() []byte {
		k := make([]byte, r.IntN(40))
		for i := range k {
			k[i] = alphabet[r.IntN(len(alphabet))]
		}
		return k
	}
	for range 200_000 {
		a, b := key(), key()
		if r.IntN(4) == 0 { // share a long prefix
			b = append(append([]byte{}, a[:r.IntN(len(a)+1)]...), b...)
		}
		ka, kb := makeKey(a), makeKey(b)
		if got, want := sign(compareKeys(&ka, &kb)), bytes.Compare(a, b); got != want {
			t.Fatalf("compareKeys(%x, %x) = %d, want %d", a, b, got, want)
		}
	}
}

func sign(c int) int {
	switch {
	case c < 0:
		return -1
	case c > 0:
		return 1
	}
	return 0
}
