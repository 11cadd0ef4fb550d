package dsl

import "github.com/rillstreams/rill/processor"

// The DSL's stateless operators, each a processor.Processor like any user processor. Each
// supplier returns a fresh value per task; the user functions they wrap are shared.

// base holds the context every operator forwards through.
type base[K, V any] struct{ ctx processor.Context[K, V] }

func (b *base[K, V]) Init(ctx processor.Context[K, V]) error { b.ctx = ctx; return nil }
func (b *base[K, V]) Close() error                           { return nil }

type filterOp[K, V any] struct {
	base[K, V]
	pred func(K, V) bool
	not  bool
}

func (p *filterOp[K, V]) Process(r processor.Record[K, V]) error {
	if p.pred(r.Key, r.Value) != p.not {
		return p.ctx.Forward(r)
	}
	return nil
}

func filterSupplier[K, V any](pred func(K, V) bool, not bool) processor.Supplier[K, V, K, V] {
	return func() processor.Processor[K, V, K, V] { return &filterOp[K, V]{pred: pred, not: not} }
}

type mapOp[K, V, KR, VR any] struct {
	base[KR, VR]
	f func(K, V) (KR, VR)
}

func (p *mapOp[K, V, KR, VR]) Process(r processor.Record[K, V]) error {
	k, v := p.f(r.Key, r.Value)
	return p.ctx.Forward(processor.Record[KR, VR]{Key: k, Value: v, Timestamp: r.Timestamp, Headers: r.Headers})
}

func mapSupplier[K, V, KR, VR any](f func(K, V) (KR, VR)) processor.Supplier[K, V, KR, VR] {
	return func() processor.Processor[K, V, KR, VR] { return &mapOp[K, V, KR, VR]{f: f} }
}

type mapValuesOp[K, V, VR any] struct {
	base[K, VR]
	f func(K, V) VR
}

func (p *mapValuesOp[K, V, VR]) Process(r processor.Record[K, V]) error {
	return p.ctx.Forward(processor.Record[K, VR]{Key: r.Key, Value: p.f(r.Key, r.Value), Timestamp: r.Timestamp, Headers: r.Headers})
}

func mapValuesSupplier[K, V, VR any](f func(K, V) VR) processor.Supplier[K, V, K, VR] {
	return func() processor.Processor[K, V, K, VR] { return &mapValuesOp[K, V, VR]{f: f} }
}

type selectKeyOp[K, V, KR any] struct {
	base[KR, V]
	f func(K, V) KR
}

func (p *selectKeyOp[K, V, KR]) Process(r processor.Record[K, V]) error {
	return p.ctx.Forward(processor.Record[KR, V]{Key: p.f(r.Key, r.Value), Value: r.Value, Timestamp: r.Timestamp, Headers: r.Headers, Null: r.Null})
}

func selectKeySupplier[K, V, KR any](f func(K, V) KR) processor.Supplier[K, V, KR, V] {
	return func() processor.Processor[K, V, KR, V] { return &selectKeyOp[K, V, KR]{f: f} }
}

type flatMapOp[K, V, KR, VR any] struct {
	base[KR, VR]
	f func(K, V) []KeyValue[KR, VR]
}

func (p *flatMapOp[K, V, KR, VR]) Process(r processor.Record[K, V]) error {
	for _, kv := range p.f(r.Key, r.Value) {
		if err := p.ctx.Forward(processor.Record[KR, VR]{Key: kv.Key, Value: kv.Value, Timestamp: r.Timestamp, Headers: r.Headers}); err != nil {
			return err
		}
	}
	return nil
}

func flatMapSupplier[K, V, KR, VR any](f func(K, V) []KeyValue[KR, VR]) processor.Supplier[K, V, KR, VR] {
	return func() processor.Processor[K, V, KR, VR] { return &flatMapOp[K, V, KR, VR]{f: f} }
}

type flatMapValuesOp[K, V, VR any] struct {
	base[K, VR]
	f func(K, V) []VR
}

func (p *flatMapValuesOp[K, V, VR]) Process(r processor.Record[K, V]) error {
	for _, v := range p.f(r.Key, r.Value) {
		if err := p.ctx.Forward(processor.Record[K, VR]{Key: r.Key, Value: v, Timestamp: r.Timestamp, Headers: r.Headers}); err != nil {
			return err
		}
	}
	return nil
}

func flatMapValuesSupplier[K, V, VR any](f func(K, V) []VR) processor.Supplier[K, V, K, VR] {
	return func() processor.Processor[K, V, K, VR] { return &flatMapValuesOp[K, V, VR]{f: f} }
}

// peekOp serves Peek (forwarding) and ForEach (terminal).
type peekOp[K, V any] struct {
	base[K, V]
	f       func(K, V)
	forward bool
}

func (p *peekOp[K, V]) Process(r processor.Record[K, V]) error {
	p.f(r.Key, r.Value)
	if p.forward {
		return p.ctx.Forward(r)
	}
	return nil
}

func peekSupplier[K, V any](f func(K, V), forward bool) processor.Supplier[K, V, K, V] {
	return func() processor.Processor[K, V, K, V] { return &peekOp[K, V]{f: f, forward: forward} }
}

type passThroughOp[K, V any] struct{ base[K, V] }

func (p *passThroughOp[K, V]) Process(r processor.Record[K, V]) error { return p.ctx.Forward(r) }

func passThroughSupplier[K, V any]() processor.Supplier[K, V, K, V] {
	return func() processor.Processor[K, V, K, V] { return &passThroughOp[K, V]{} }
}

// branchOp sends each record to the first branch whose predicate holds, else to the default
// branch when there is one, else nowhere (Kafka Streams' split semantics).
type branchOp[K, V any] struct {
	base[K, V]
	split *splitState[K, V]
}

func (p *branchOp[K, V]) Process(r processor.Record[K, V]) error {
	for i, pred := range p.split.preds {
		if pred(r.Key, r.Value) {
			return p.ctx.ForwardTo(p.split.children[i], r)
		}
	}
	if p.split.defaultChild != "" {
		return p.ctx.ForwardTo(p.split.defaultChild, r)
	}
	return nil
}
