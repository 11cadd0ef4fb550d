package main

import (
	"testing"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

func TestWordCount(t *testing.T) {
	topo, err := buildTopology(func() {})
	if err != nil {
		t.Fatal(err)
	}
	d := streamstest.New(t, topo)
	in := streamstest.Input(d, "lines", serde.String(), serde.String())
	out := streamstest.Output(d, "word-counts", serde.String(), serde.Int64())
	in.Pipe("", "Hello rill hello")
	got := out.ReadKeyValues()
	want := []streamstest.KeyValue[string, int64]{{Key: "hello", Value: 1}, {Key: "rill", Value: 1}, {Key: "hello", Value: 2}}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("got %v, want %v", got, want)
		}
	}
}
