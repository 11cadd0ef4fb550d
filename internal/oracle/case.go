package oracle

import (
	"fmt"
	"strings"
)

// Case is one oracle input: a topology family with its parameters and the records piped into
// it, in order. Its JSON form is the line the Java side reads (oracle/java, Main.java).
type Case struct {
	ID     string   `json:"id"`
	Family string   `json:"family"`
	Params Params   `json:"params"`
	Inputs []Record `json:"inputs"`
}

// Params are a family's parameters; each family reads the fields it needs (Families.java and
// family.go agree on their meaning). Durations are milliseconds. A negative Grace means no
// grace (Kafka Streams' of...WithNoGrace).
type Params struct {
	Kind    string `json:"kind,omitempty"`    // joins: inner, left, outer
	Diff    int64  `json:"diff,omitempty"`    // stream-stream join time difference
	Before  *int64 `json:"before,omitempty"`  // stream-stream join: overrides Diff before
	After   *int64 `json:"after,omitempty"`   // stream-stream join: overrides Diff after
	Grace   int64  `json:"grace"`             // windows and joins
	Window  string `json:"window,omitempty"`  // winagg: tumbling, hopping, sliding, session
	Size    int64  `json:"size,omitempty"`    // winagg: window size, sliding time difference
	Advance int64  `json:"advance,omitempty"` // winagg: hopping advance
	Gap     int64  `json:"gap,omitempty"`     // winagg: session inactivity gap
	Agg     string `json:"agg,omitempty"`     // count, reduce, aggregate
	Final   string `json:"final,omitempty"`   // winagg: "", emit (EmitFinal), suppress
	Filter  bool   `json:"filter,omitempty"`  // ttjoin, tablesrc: filter the left table
	Store   string `json:"store,omitempty"`   // Java side: memory (default) or rocksdb
	// Cache runs both sides with the record cache on at Kafka Streams' default size (10 MiB;
	// TopologyTestDriver and streamstest both flush it after every input record).
	Cache bool `json:"cache,omitempty"`
}

// Record is an input or output record. A nil key or value is a Kafka null; output values are
// rendered as text (longs in decimal).
type Record struct {
	Topic string  `json:"topic"`
	Key   *string `json:"key"`
	Value *string `json:"value"`
	TS    int64   `json:"ts"`
}

func (r Record) String() string {
	return fmt.Sprintf("%s %s=%s @%d", r.Topic, show(r.Key), show(r.Value), r.TS)
}

func show(s *string) string {
	if s == nil {
		return "null"
	}
	return *s
}

func (p Params) String() string {
	var b strings.Builder
	add := func(name string, v any) { fmt.Fprintf(&b, "%s=%v ", name, v) }
	if p.Kind != "" {
		add("kind", p.Kind)
	}
	if p.Window != "" {
		add("window", p.Window)
	}
	if p.Agg != "" {
		add("agg", p.Agg)
	}
	if p.Diff != 0 {
		add("diff", p.Diff)
	}
	if p.Before != nil {
		add("before", *p.Before)
	}
	if p.After != nil {
		add("after", *p.After)
	}
	if p.Size != 0 {
		add("size", p.Size)
	}
	if p.Advance != 0 {
		add("advance", p.Advance)
	}
	if p.Gap != 0 {
		add("gap", p.Gap)
	}
	add("grace", p.Grace)
	if p.Final != "" {
		add("final", p.Final)
	}
	if p.Filter {
		add("filter", true)
	}
	if p.Cache {
		add("cache", true)
	}
	return strings.TrimSpace(b.String())
}

// Result is what one side produced for a case: the records written to "out" in order, or the
// error the topology failed with.
type Result struct {
	ID     string   `json:"id"`
	Output []Record `json:"output"`
	Error  string   `json:"error,omitempty"`
}

func ptr(s string) *string { return &s }
