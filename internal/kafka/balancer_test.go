package kafka

import (
	"testing"

	"github.com/rillstreams/rill/internal/assign"
)

func TestFresherOffsetSum(t *testing.T) {
	latest, unknown := assign.OffsetSumLatest, assign.OffsetSumUnknown
	for _, c := range []struct{ a, b, want int64 }{
		{latest, 5, latest},
		{5, latest, latest},
		{latest, unknown, latest},
		{3, 7, 7},
		{7, 3, 7},
		{unknown, 0, 0},
		{4, unknown, 4},
		{unknown, unknown, unknown},
	} {
		if got := fresherOffsetSum(c.a, c.b); got != c.want {
			t.Errorf("fresherOffsetSum(%d, %d) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}
