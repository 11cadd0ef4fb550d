// Package tablejoin holds the change of a table row that flows between the DSL's table
// operators (Change) and the semantics of primary-key table-table joins (TableJoin): what the
// DSL's Table.Join, LeftJoin and OuterJoin emit when either side's row changes. Users see only
// the DSL methods.
//
// # Usage
//
//	tj := tablejoin.TableJoin[K, V, VO, VR]{Kind: tablejoin.Left, Joiner: joiner}
//	out, ts, emit := tj.LeftChanged(key, change, ts, rightRow, rightFound, sendOld)
package tablejoin

import (
	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/state"
)

// Change is an update of a table row, as it flows between table operators (Kafka Streams'
// Change<V>): the new value (absent: a delete, a tombstone) and, when a downstream operator
// asked for it, the previous one.
type Change[V any] struct {
	New, Old       V
	HasNew, HasOld bool
	// NotLatest marks an update of a versioned table older than its key's latest version
	// (Kafka Streams' Change.isLatest false, KIP-914): it went into the table's history.
	// Filters, mapValues and toStream pass it on; table-table joins and table groupBy skip
	// it. Repartition topics never carry one (groupBy drops it first).
	NotLatest bool
}

// Kind is the kind of a table-table join.
type Kind uint8

const (
	// Inner joins have a row where both tables have one.
	Inner Kind = iota
	// Left joins have a row wherever the left table has one.
	Left
	// Outer joins have a row wherever either table has one.
	Outer
)

func (k Kind) String() string {
	switch k {
	case Inner:
		return "inner"
	case Left:
		return "left"
	}
	return "outer"
}

// TableJoin is the semantics of a primary-key table-table join (Kafka Streams'
// KTableKTableInnerJoin, LeftJoin, RightJoin and OuterJoin): when a row of either table
// changes, the other table's row with the same key is looked up and the joined row's change
// computed. The result is a table: its changes carry the joined new value (absent: the joined
// row is deleted) and, when SendOld, the joined old value. Timestamps are the larger of the
// two rows'.
type TableJoin[K, V, VO, VR any] struct {
	Kind Kind
	// Joiner makes a joined value; a side may be missing only where Kind allows it (the right
	// for left joins, either for outer joins).
	Joiner func(k K, v V, hasV bool, vo VO, hasVO bool) VR
}

// LeftChanged is the joined change when the left table's row changed (ch, at ts) and the
// right table's row is right (ok false: none). emit is false when the join has nothing to say.
func (j TableJoin[K, V, VO, VR]) LeftChanged(k K, ch Change[V], ts int64, right state.ValueAndTimestamp[VO], ok, sendOld bool) (out Change[VR], outTs int64, emit bool) {
	joiner := j.Joiner
	return sideChanged(j.Kind >= Left, j.Kind == Outer, ch, ts, right, ok, sendOld,
		func(v V, hasV bool, vo VO, hasVO bool) VR { return joiner(k, v, hasV, vo, hasVO) })
}

// RightChanged is the joined change when the right table's row changed.
func (j TableJoin[K, V, VO, VR]) RightChanged(k K, ch Change[VO], ts int64, left state.ValueAndTimestamp[V], ok, sendOld bool) (out Change[VR], outTs int64, emit bool) {
	joiner := j.Joiner
	return sideChanged(j.Kind == Outer, j.Kind >= Left, ch, ts, left, ok, sendOld,
		func(vo VO, hasVO bool, v V, hasV bool) VR { return joiner(k, v, hasV, vo, hasVO) })
}

// sideChanged computes a change of the joined row from a change of this side's row and the
// other side's current row. thisOuter: this side's rows have results without the other side
// (the left of a left join, both of an outer join); otherOuter: the other side's rows do.
func sideChanged[VT, VX, VR any](thisOuter, otherOuter bool, ch Change[VT], ts int64, other state.ValueAndTimestamp[VX], ok, sendOld bool,
	join func(VT, bool, VX, bool) VR) (out Change[VR], outTs int64, emit bool) {
	outTs = ts
	switch {
	case ok:
		outTs = max(ts, other.Timestamp)
	case !thisOuter:
		return out, 0, false // this side's rows need the other's: there was and is no joined row
	case !ch.HasNew && !ch.HasOld:
		return out, 0, false // a delete of a row that did not exist
	}
	if (ch.HasNew && (ok || thisOuter)) || (ok && otherOuter) {
		out.New, out.HasNew = join(ch.New, ch.HasNew, other.Value, ok), true
	}
	if sendOld && ((ch.HasOld && (ok || thisOuter)) || (ok && otherOuter)) {
		out.Old, out.HasOld = join(ch.Old, ch.HasOld, other.Value, ok), true
	}
	return out, outTs, true
}

// Row is the joined row of a key from both tables' rows, for reading a join result that
// has no store of its own.
func (j TableJoin[K, V, VO, VR]) Row(k K, left state.ValueAndTimestamp[V], hasLeft bool, right state.ValueAndTimestamp[VO], hasRight bool) (state.ValueAndTimestamp[VR], bool) {
	var row state.ValueAndTimestamp[VR]
	if !(hasLeft && (hasRight || j.Kind >= Left)) && !(hasRight && j.Kind == Outer) {
		return row, false
	}
	row.Value = j.Joiner(k, left.Value, hasLeft, right.Value, hasRight)
	switch {
	case hasLeft && hasRight:
		row.Timestamp = max(left.Timestamp, right.Timestamp)
	case hasLeft:
		row.Timestamp = left.Timestamp
	default:
		row.Timestamp = right.Timestamp
	}
	return row, true
}

// JoinedGetter reads a join result's rows through the getters of both joined tables, for a
// result that has no store of its own.
func JoinedGetter[K, V, VO, VR any](j TableJoin[K, V, VO, VR], left joins.GetterSupplier[K, V], right joins.GetterSupplier[K, VO]) joins.GetterSupplier[K, VR] {
	stores := append(append([]string(nil), left.Stores...), right.Stores...)
	return joins.GetterSupplier[K, VR]{
		Stores: stores,
		Open: func(ctx joins.StoreSource) (joins.ValueGetter[K, VR], error) {
			lg, err := left.Open(ctx)
			if err != nil {
				return nil, err
			}
			rg, err := right.Open(ctx)
			if err != nil {
				return nil, err
			}
			return func(k K) (state.ValueAndTimestamp[VR], bool, error) {
				l, lok, err := lg(k)
				if err != nil {
					return state.ValueAndTimestamp[VR]{}, false, err
				}
				r, rok, err := rg(k)
				if err != nil {
					return state.ValueAndTimestamp[VR]{}, false, err
				}
				row, ok := j.Row(k, l, lok, r, rok)
				return row, ok, nil
			}, nil
		},
	}
}
