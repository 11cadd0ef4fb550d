package windows_test

import (
	"fmt"
	"time"

	"github.com/rillstreams/rill/windows"
)

// Which hopping windows a record falls in, and when each closes.
func ExampleTimeWindows_Starts() {
	w := windows.Hopping(10*time.Second, 5*time.Second, windows.Grace(2*time.Second))
	ts := int64(12_000) // a record at 12 s
	first, last, ok := w.Starts(ts)
	for start := first; ok; start += w.Advance() {
		end := w.End(start)
		fmt.Printf("[%d,%d) open at stream time 20000: %v\n", start, end, !w.Closed(end, 20_000))
		if start == last {
			break
		}
	}
	// Output:
	// [5000,15000) open at stream time 20000: false
	// [10000,20000) open at stream time 20000: true
}

// Invalid definitions carry their error, which the DSL reports from Builder.Build.
func ExampleTumbling_invalid() {
	fmt.Println(windows.Tumbling(0).Err())
	fmt.Println(windows.Hopping(time.Second, 2*time.Second).Err())
	// Output:
	// rill: invalid window: window size must be at least 1ms, got 0s
	// rill: invalid window: window advance must be at least 1ms and at most the size 1s, got 2s
}

func ExampleJoinWithin() {
	w := windows.JoinWithin(time.Minute, windows.Before(0), windows.Grace(10*time.Second))
	fmt.Println(w.Before(), w.After(), w.Grace())
	// Output:
	// 0 60000 10000
}
