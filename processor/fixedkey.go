package processor

import "time"

// FixedKeyRecord is a record whose key a processor cannot change (Kafka Streams'
// FixedKeyRecord, KIP-820): a FixedKeyProcessor receives one and forwards it, or copies of it
// made with WithValue, WithTimestamp and WithHeaders, always with the key it came with. So a
// stream through ProcessValues keeps its partitioning: nothing downstream repartitions for it.
type FixedKeyRecord[K, V any] struct {
	key       K
	Value     V
	Timestamp int64
	Headers   []Header
}

// Key is the record's key, the one it was read with.
func (r FixedKeyRecord[K, V]) Key() K { return r.key }

// Time returns the record timestamp as a time.Time.
func (r FixedKeyRecord[K, V]) Time() time.Time { return time.UnixMilli(r.Timestamp) }

// WithValue returns a copy of r carrying v instead, with the same key, timestamp and headers.
func (r FixedKeyRecord[K, V]) WithValue[VR any](v VR) FixedKeyRecord[K, VR] {
	return FixedKeyRecord[K, VR]{key: r.key, Value: v, Timestamp: r.Timestamp, Headers: r.Headers}
}

// WithTimestamp returns a copy of r with timestamp ts (milliseconds).
func (r FixedKeyRecord[K, V]) WithTimestamp(ts int64) FixedKeyRecord[K, V] {
	r.Timestamp = ts
	return r
}

// WithHeaders returns a copy of r with headers h.
func (r FixedKeyRecord[K, V]) WithHeaders(h []Header) FixedKeyRecord[K, V] {
	r.Headers = h
	return r
}

// FixedKey turns a record into a FixedKeyRecord; the runtime's adapters use it.
func FixedKey[K, V any](r Record[K, V]) FixedKeyRecord[K, V] {
	return FixedKeyRecord[K, V]{key: r.Key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers}
}

// Record turns r back into a plain record, key included.
func (r FixedKeyRecord[K, V]) Record() Record[K, V] {
	return Record[K, V]{Key: r.key, Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers}
}

// FixedKeyProcessor is a processor that cannot change keys (Kafka Streams' FixedKeyProcessor):
// what dsl.Stream.ProcessValues runs. Everything else is as Processor.
type FixedKeyProcessor[K, VIn, VOut any] interface {
	Init(ctx FixedKeyContext[K, VOut]) error
	Process(rec FixedKeyRecord[K, VIn]) error
	Close() error
}

// FixedKeySupplier returns a new FixedKeyProcessor, once per task.
type FixedKeySupplier[K, VIn, VOut any] func() FixedKeyProcessor[K, VIn, VOut]

// FixedKeyContext is a FixedKeyProcessor's view of its task: a Context whose forwards take
// FixedKeyRecords.
type FixedKeyContext[K, V any] interface {
	// Forward sends rec to every child of this processor node.
	Forward(rec FixedKeyRecord[K, V]) error
	// ForwardTo sends rec to the named child only.
	ForwardTo(child string, rec FixedKeyRecord[K, V]) error
	Schedule(interval time.Duration, typ PunctuationType, fn Punctuator) (cancel func(), err error)
	StateStore(name string) (Store, error)
	RecordMetadata() (md RecordMetadata, ok bool)
	TaskID() TaskID
	StreamTime() int64
	ApplicationID() string
	RecordDropped(reason string)
}

// FixedKeyAdapter runs a FixedKeyProcessor as a Processor that keeps keys: the node the DSL's
// ProcessValues adds.
func FixedKeyAdapter[K, VIn, VOut any](sup FixedKeySupplier[K, VIn, VOut]) Supplier[K, VIn, K, VOut] {
	return func() Processor[K, VIn, K, VOut] { return &fixedKeyNode[K, VIn, VOut]{p: sup()} }
}

type fixedKeyNode[K, VIn, VOut any] struct {
	p   FixedKeyProcessor[K, VIn, VOut]
	ctx Context[K, VOut]
}

func (n *fixedKeyNode[K, VIn, VOut]) Init(ctx Context[K, VOut]) error {
	n.ctx = ctx
	return n.p.Init(fixedKeyContext[K, VOut]{ctx})
}

func (n *fixedKeyNode[K, VIn, VOut]) Process(r Record[K, VIn]) error { return n.p.Process(FixedKey(r)) }
func (n *fixedKeyNode[K, VIn, VOut]) Close() error                   { return n.p.Close() }

// fixedKeyContext forwards FixedKeyRecords through a plain Context.
type fixedKeyContext[K, V any] struct{ Context[K, V] }

func (c fixedKeyContext[K, V]) Forward(r FixedKeyRecord[K, V]) error {
	return c.Context.Forward(r.Record())
}

func (c fixedKeyContext[K, V]) ForwardTo(child string, r FixedKeyRecord[K, V]) error {
	return c.Context.ForwardTo(child, r.Record())
}
