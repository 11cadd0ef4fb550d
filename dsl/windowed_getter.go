package dsl

import (
	"fmt"

	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/state"
	"github.com/rillstreams/rill/windows"
)

// Value getters of windowed tables, so they can be joined like other tables: a row is read
// from the aggregation's window store by key and window start (Kafka Streams'
// KStreamWindowAggregateValueGetter), or from its session store by key, start and end, stamped
// with the session's end (KStreamSessionWindowAggregate's value getter).

func windowStoreGetter[K, VA any](store string) func() (joins.GetterSupplier[windows.Windowed[K], VA], error) {
	return func() (joins.GetterSupplier[windows.Windowed[K], VA], error) {
		return joins.GetterSupplier[windows.Windowed[K], VA]{
			Stores: []string{store},
			Open: func(ctx joins.StoreSource) (joins.ValueGetter[windows.Windowed[K], VA], error) {
				s, err := openStore[*state.WindowStore[K, state.ValueAndTimestamp[VA]]](ctx, store)
				if err != nil {
					return nil, err
				}
				return func(k windows.Windowed[K]) (state.ValueAndTimestamp[VA], bool, error) {
					return s.Fetch(k.Key, k.Start)
				}, nil
			},
		}, nil
	}
}

func sessionStoreGetter[K, VA any](store string) func() (joins.GetterSupplier[windows.Windowed[K], VA], error) {
	return func() (joins.GetterSupplier[windows.Windowed[K], VA], error) {
		return joins.GetterSupplier[windows.Windowed[K], VA]{
			Stores: []string{store},
			Open: func(ctx joins.StoreSource) (joins.ValueGetter[windows.Windowed[K], VA], error) {
				s, err := openStore[*state.SessionStore[K, VA]](ctx, store)
				if err != nil {
					return nil, err
				}
				return func(k windows.Windowed[K]) (state.ValueAndTimestamp[VA], bool, error) {
					sessions, err := s.FindSessions(k.Key, k.End, k.Start)
					for _, x := range sessions {
						if x.Start == k.Start && x.End == k.End {
							return state.ValueAndTimestamp[VA]{Value: x.Value, Timestamp: x.End}, true, nil
						}
					}
					return state.ValueAndTimestamp[VA]{}, false, err
				}, nil
			},
		}, nil
	}
}

func openStore[S processor.Store](ctx joins.StoreSource, name string) (S, error) {
	var zero S
	st, err := ctx.StateStore(name)
	if err != nil {
		return zero, err
	}
	s, ok := st.(S)
	if !ok {
		return zero, fmt.Errorf("rill: store %s is a %T, not a %T", name, st, zero)
	}
	return s, nil
}
