package dsl_test

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

func TestToFixedTopic(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "in").PipeRecords(
		streamstest.Record[string, string]{Key: "k1", Value: "v1", Time: at(100), Headers: hdrs("h", "1")},
		streamstest.Record[string, string]{Key: "", Value: "", Time: at(50)},
	)
	out := strOut(d, "out")
	first := out.ReadRecord()
	if first.Key != "k1" || first.Value != "v1" || first.Time.UnixMilli() != 100 || !reflect.DeepEqual(first.Headers, hdrs("h", "1")) {
		t.Errorf("first record %+v", first)
	}
	expectRecords(t, out, rec("", "", 50))
}

// The serdes a sink writes with: WithSerdes, else the stream's own (kept by every operation
// that keeps the key or value type, dropped where the type changes), else the stock serde of
// the type.
func TestToSerdeResolution(t *testing.T) {
	tests := []struct {
		name string
		sink func(s *dsl.Stream[string, string])
		want kvt[string, string] // raw key and value written for input ("k", "v")
	}{
		{"source serdes", func(s *dsl.Stream[string, string]) { s.To("out") }, rec("K:k", "V:v", 7)},
		{"kept through Filter and Peek", func(s *dsl.Stream[string, string]) {
			s.Filter(func(string, string) bool { return true }).Peek(func(string, string) {}).To("out")
		}, rec("K:k", "V:v", 7)},
		{"MapValues to the same type keeps the value serde", func(s *dsl.Stream[string, string]) {
			s.MapValues(func(_, v string) string { return v }).To("out")
		}, rec("K:k", "V:v", 7)},
		{"MapValues to another type drops the value serde", func(s *dsl.Stream[string, string]) {
			s.MapValues(func(_, v string) []byte { return []byte(v) }).To("out")
		}, rec("K:k", "v", 7)},
		{"FlatMapValues to the same type keeps the value serde", func(s *dsl.Stream[string, string]) {
			s.FlatMapValues(func(_, v string) []string { return []string{v} }).To("out")
		}, rec("K:k", "V:v", 7)},
		{"SelectKey to the same type keeps the key serde", func(s *dsl.Stream[string, string]) {
			s.SelectKey(func(k, _ string) string { return k }).To("out")
		}, rec("K:k", "V:v", 7)},
		{"SelectKey to another type drops the key serde", func(s *dsl.Stream[string, string]) {
			s.SelectKey(func(k, _ string) []byte { return []byte(k) }).To("out")
		}, rec("k", "V:v", 7)},
		{"Map to the same types keeps both", func(s *dsl.Stream[string, string]) {
			s.Map(func(k, v string) (string, string) { return k, v }).To("out")
		}, rec("K:k", "V:v", 7)},
		{"FlatMap to the same types keeps both", func(s *dsl.Stream[string, string]) {
			s.FlatMap(func(k, v string) []dsl.KeyValue[string, string] { return []dsl.KeyValue[string, string]{dsl.KV(k, v)} }).To("out")
		}, rec("K:k", "V:v", 7)},
		{"Map to other types drops both", func(s *dsl.Stream[string, string]) {
			s.Map(func(k, v string) ([]byte, []byte) { return []byte(k), []byte(v) }).To("out")
		}, rec("k", "v", 7)},
		{"WithSerdes overrides both", func(s *dsl.Stream[string, string]) {
			s.To("out", dsl.WithSerdes(prefixSerde("k="), prefixSerde("v=")))
		}, rec("k=k", "v=v", 7)},
		{"WithSerdes nil key keeps the stream's key serde", func(s *dsl.Stream[string, string]) {
			s.To("out", dsl.WithSerdes[string, string](nil, prefixSerde("v=")))
		}, rec("K:k", "v=v", 7)},
		{"WithSerdes nil value keeps the stream's value serde", func(s *dsl.Stream[string, string]) {
			s.To("out", dsl.WithSerdes[string, string](prefixSerde("k="), nil))
		}, rec("k=k", "V:v", 7)},
		{"WithSerdes after MapValues", func(s *dsl.Stream[string, string]) {
			s.MapValues(func(_, v string) string { return v }).To("out", dsl.WithSerdes[string, string](nil, prefixSerde("v=")))
		}, rec("K:k", "v=v", 7)},
		{"Named and WithSerdes together", func(s *dsl.Stream[string, string]) {
			s.To("out", dsl.Named("sink"), dsl.WithSerdes[string, string](nil, prefixSerde("v=")))
		}, rec("K:k", "v=v", 7)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := dsl.NewBuilder()
			tc.sink(b.Stream("in", prefixSerde("K:"), prefixSerde("V:")))
			d := streamstest.New(t, mustBuild(t, b))
			streamstest.Input(d, "in", prefixSerde("K:"), prefixSerde("V:")).PipeAt("k", "v", at(7))
			expectRecords(t, rawOut(d, "out"), tc.want)
		})
	}
}

// After MapValues to int64 no serde is known for the value; To falls back to the stock int64
// serde (8 bytes big-endian), as Kafka Streams falls back to the default serde.
func TestToStockSerdeFallback(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		MapValues(func(_, v string) int64 { return int64(len(v)) * 1000 }).
		To("out")
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "in").PipeAt("k", "abc", at(12))
	raw := streamstest.Output(d, "out", serde.Bytes(), serde.Bytes()).ReadRecord()
	if want := []byte{0, 0, 0, 0, 0, 0, 0x0b, 0xb8}; !reflect.DeepEqual(raw.Value, want) {
		t.Errorf("value bytes % x, want % x (3000 as a big-endian int64)", raw.Value, want)
	}
	if string(raw.Key) != "k" || raw.Time.UnixMilli() != 12 {
		t.Errorf("key %q time %d, want \"k\" 12", raw.Key, raw.Time.UnixMilli())
	}
}

func TestToUserTypeWithSerdes(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.Float64()).
		MapValues(func(k string, v float64) Order { return Order{ID: k, Amount: v} }).
		To("orders", dsl.WithSerdes[string, Order](nil, serde.JSON[Order]()))
	d := streamstest.New(t, mustBuild(t, b))
	streamstest.Input(d, "in", serde.String(), serde.Float64()).PipeAt("o-1", 9.5, at(77))
	expectRecords(t, rawOut(d, "orders"), rec("o-1", `{"id":"o-1","amount":9.5}`, 77))
}

// ToTopicFunc picks each record's topic from its key, value and metadata.
func TestToTopicFunc(t *testing.T) {
	b := dsl.NewBuilder()
	var mds []processor.RecordMetadata
	b.Streams([]string{"eu", "us"}, serde.String(), serde.Int64()).
		ToTopicFunc(func(k string, v int64, md processor.RecordMetadata) string {
			mds = append(mds, md)
			if v < 0 {
				return "negative"
			}
			return md.Topic + "-" + strings.ToLower(k)
		})
	topo := mustBuild(t, b)

	n, _ := describeNode(t, topo, "KSTREAM-SINK-0000000001")
	if n.Kind != "Sink" || n.Topic != "" || n.TopicFunc == "" {
		t.Errorf("dynamic sink described as %+v, want a sink with an extractor and no topic", n)
	}
	if s := n.String(); !strings.HasPrefix(s, "Sink: KSTREAM-SINK-0000000001 (extractor class: ") {
		t.Errorf("dynamic sink renders as %q", s)
	}

	d := streamstest.New(t, topo)
	eu := streamstest.Input(d, "eu", serde.String(), serde.Int64())
	us := streamstest.Input(d, "us", serde.String(), serde.Int64())
	eu.PipeAt("A", 1, at(10))
	us.PipeAt("A", 2, at(20))
	eu.PipeAt("B", -3, at(30))
	eu.PipeAt("A", 4, at(40))

	out := func(topic string) *streamstest.OutputTopic[string, int64] {
		return streamstest.Output(d, topic, serde.String(), serde.Int64())
	}
	expectRecords(t, out("eu-a"), rec[string, int64]("A", 1, 10), rec[string, int64]("A", 4, 40))
	expectRecords(t, out("us-a"), rec[string, int64]("A", 2, 20))
	expectRecords(t, out("negative"), rec[string, int64]("B", -3, 30))
	want := []processor.RecordMetadata{
		{Topic: "eu", Partition: 0, Offset: 0}, {Topic: "us", Partition: 0, Offset: 0},
		{Topic: "eu", Partition: 0, Offset: 1}, {Topic: "eu", Partition: 0, Offset: 2},
	}
	if !reflect.DeepEqual(mds, want) {
		t.Errorf("extractor metadata %+v, want %+v", mds, want)
	}
}

func TestToTopicFuncWithSerdesAndName(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		ToTopicFunc(func(k, _ string, _ processor.RecordMetadata) string { return "t-" + k },
			dsl.Named("router"), dsl.WithSerdes[string, string](nil, prefixSerde("v=")))
	topo := mustBuild(t, b)
	if n, _ := describeNode(t, topo, "router"); n.Kind != "Sink" {
		t.Errorf("router is a %s, want a Sink", n.Kind)
	}
	d := streamstest.New(t, topo)
	strIn(d, "in").PipeAt("x", "1", at(5))
	expectRecords(t, rawOut(d, "t-x"), rec("x", "v=1", 5))
}

// A topic-name extractor returning "" is a production error of the record.
func TestToTopicFuncEmptyTopic(t *testing.T) {
	b := dsl.NewBuilder()
	b.Stream("in", serde.String(), serde.String()).
		ToTopicFunc(func(k, _ string, _ processor.RecordMetadata) string { return k }, dsl.Named("router"))
	topo := mustBuild(t, b)

	d := streamstest.New(t, topo)
	in := strIn(d, "in")
	err := in.TryPipe(streamstest.Record[string, string]{Key: "", Value: "v", Time: at(1)})
	var te *processor.TaskError
	if !errors.Is(err, processor.ErrProduction) || !errors.As(err, &te) {
		t.Fatalf("error %v, want a production TaskError", err)
	}
	if te.Node != "router" || te.Topic != "in" || te.Offset != 0 {
		t.Errorf("TaskError %+v, want node router on in@0", te)
	}

	d = streamstest.New(t, topo, streamstest.WithProductionHandler(processor.LogAndContinue))
	in = strIn(d, "in")
	in.PipeAt("", "v", at(1))
	in.PipeAt("ok", "w", at(2))
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}
	expectRecords(t, strOut(d, "ok"), rec("ok", "w", 2))
}

// Several sinks may write to one topic; each writes every record it gets.
func TestTwoSinksOneTopic(t *testing.T) {
	b := dsl.NewBuilder()
	s := b.Stream("in", serde.String(), serde.String())
	s.To("out")
	s.MapValues(func(_, v string) string { return v + v }).To("out")
	d := streamstest.New(t, mustBuild(t, b))
	strIn(d, "in").PipeAt("k", "ab", at(3))
	expectRecords(t, strOut(d, "out"), rec("k", "ab", 3), rec("k", "abab", 3))
}

// A sink's serializer failing is a production error, handled by the production handler.
func TestToSerializerFailure(t *testing.T) {
	picky := serde.New(
		func(_ string, v string) ([]byte, error) {
			if v == "bad" {
				return nil, errBoom
			}
			return []byte(v), nil
		},
		func(_ string, data []byte) (string, error) { return string(data), nil })
	build := func() *dsl.Builder {
		b := dsl.NewBuilder()
		b.Stream("in", serde.String(), serde.String()).To("out", dsl.Named("sink"), dsl.WithSerdes[string, string](nil, picky))
		return b
	}

	d := streamstest.New(t, mustBuild(t, build()))
	in := strIn(d, "in")
	in.PipeAt("k", "good", at(1))
	err := in.TryPipe(streamstest.Record[string, string]{Key: "k", Value: "bad", Time: at(2)})
	var te *processor.TaskError
	if !errors.As(err, &te) || te.Kind != processor.ProductionError || te.Node != "sink" || te.Offset != 1 {
		t.Fatalf("error %v (%+v), want a production TaskError at node sink, offset 1", err, te)
	}
	if !errors.Is(err, errBoom) || !errors.Is(err, serde.ErrSerialization) || !errors.Is(err, processor.ErrProduction) {
		t.Errorf("error %v does not match errBoom, serde.ErrSerialization and processor.ErrProduction", err)
	}
	expectRecords(t, strOut(d, "out"), rec("k", "good", 1))

	d = streamstest.New(t, mustBuild(t, build()), streamstest.WithProductionHandler(processor.LogAndContinue))
	in = strIn(d, "in")
	in.PipeAt("k", "bad", at(1))
	in.PipeAt("k", "fine", at(2))
	expectRecords(t, strOut(d, "out"), rec("k", "fine", 2))
	if d.Dropped() != 1 {
		t.Errorf("Dropped() = %d, want 1", d.Dropped())
	}
}
