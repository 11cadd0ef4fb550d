package main

import (
	"log/slog"
	"slices"
	"sync/atomic"
	"time"

	"github.com/rillstreams/rill/dsl"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/topology"
)

// ValidationWindow is how long (in record time) the validations aggregator waits for an order's
// three verdicts. An order still undecided when its window closes is dropped from the
// aggregator's store, counted (expiredOrders) and logged; it stays CREATED.
const ValidationWindow = 5 * time.Minute

// StoreValidations is the aggregator's store: order id -> what is known of its validations.
const StoreValidations = "validations-state"

// expiredOrders counts orders whose validation window closed before they were decided.
var expiredOrders atomic.Int64

// validationState is what the aggregator knows of one order.
type validationState struct {
	Order   *Order   `json:"order,omitempty"`
	Passed  []string `json:"passed,omitempty"` // check types that passed
	Failed  bool     `json:"failed,omitempty"`
	Decided bool     `json:"decided,omitempty"`
	First   int64    `json:"first"` // timestamp of the first record of the order, ms
}

// validatorInput is a record of either input: a CREATED order or a verdict on one.
type validatorInput struct {
	Order      *Order
	Validation *OrderValidation
}

// validatorTopology is the validations aggregator: CREATED orders and the verdicts of the three
// validating services, both keyed by order id (co-partitioned), meet in one processor that
// writes the order back VALIDATED when all three passed, or FAILED as soon as one failed, once.
func validatorTopology() (*topology.Topology, error) {
	b := dsl.NewBuilder()
	b.AddStateStore(state.NewKeyValueStoreBuilder(StoreValidations, serde.String(), serde.JSON[validationState]()))
	orders := b.Stream(TopicOrders, serde.String(), serde.JSON[Order](), dsl.Named("orders")).
		Filter(func(_ string, o Order) bool { return o.State == StateCreated }, dsl.Named("created")).
		MapValues(func(_ string, o Order) validatorInput { return validatorInput{Order: &o} }, dsl.Named("order-input"))
	b.Stream(TopicValidations, serde.String(), serde.JSON[OrderValidation](), dsl.Named("validations")).
		MapValues(func(_ string, v OrderValidation) validatorInput { return validatorInput{Validation: &v} }, dsl.Named("validation-input")).
		Merge(orders, dsl.Named("order-and-validations")).
		ProcessValues(func() processor.FixedKeyProcessor[string, validatorInput, Order] { return &validator{} },
			dsl.WithStores(StoreValidations), dsl.Named("aggregate-validations")).
		To(TopicOrders, dsl.WithSerdes(serde.String(), serde.JSON[Order]()), dsl.Named("decided-orders"))
	return b.Build()
}

// validator aggregates the verdicts of each order of its partition.
type validator struct {
	ctx   processor.FixedKeyContext[string, Order]
	store *state.KeyValueStore[string, validationState]
}

func (p *validator) Init(ctx processor.FixedKeyContext[string, Order]) error {
	p.ctx = ctx
	s, err := ctx.StateStore(StoreValidations)
	if err != nil {
		return err
	}
	p.store = s.(*state.KeyValueStore[string, validationState])
	_, err = ctx.Schedule(time.Minute, processor.StreamTime, p.expire)
	return err
}

func (p *validator) Process(r processor.FixedKeyRecord[string, validatorInput]) error {
	st, ok, err := p.store.Get(r.Key())
	if err != nil {
		return err
	}
	if !ok {
		st = validationState{First: r.Timestamp}
	}
	if st.Decided {
		return nil // a verdict after the decision (a second FAIL, say) changes nothing
	}
	if in := r.Value; in.Order != nil {
		st.Order = in.Order
	} else if v := in.Validation; v != nil {
		if v.Result != Pass {
			st.Failed = true
		} else if !slices.Contains(st.Passed, v.CheckType) {
			st.Passed = append(st.Passed, v.CheckType)
		}
	}
	if st.Order != nil && (st.Failed || len(st.Passed) == numChecks) {
		st.Decided = true
		o := *st.Order
		o.State = StateValidated
		if st.Failed {
			o.State = StateFailed
		}
		if err := p.ctx.Forward(r.WithValue(o)); err != nil {
			return err
		}
	}
	return p.store.Put(r.Key(), st)
}

// expire drops the orders whose window closed: decided ones silently (their verdicts are all
// in), undecided ones counted and logged.
func (p *validator) expire(streamTime int64) error {
	it, err := p.store.All()
	if err != nil {
		return err
	}
	var old []string
	for it.Next() {
		st := it.Value()
		if st.First >= streamTime-ValidationWindow.Milliseconds() {
			continue
		}
		old = append(old, it.Key())
		if !st.Decided {
			expiredOrders.Add(1)
			slog.Warn("validations aggregator: window closed before the order was decided; it stays CREATED",
				"order", it.Key(), "passed", st.Passed, "haveOrder", st.Order != nil, "task", p.ctx.TaskID())
		}
	}
	if err := it.Close(); err != nil {
		return err
	}
	if err := it.Err(); err != nil {
		return err
	}
	for _, k := range old {
		if err := p.store.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (p *validator) Close() error { return nil }
