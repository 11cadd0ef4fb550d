package fkjoin

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/rillstreams/rill/internal/tablejoin"
	"github.com/rillstreams/rill/joins"
	"github.com/rillstreams/rill/processor"
	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/state"
)

// fkFixture is a foreign-key join of string tables whose foreign key is the part of the
// left value after "|" ("" or no bar: none, with *string foreign keys).
func fkFixture(left bool, leftRows map[string]string) *ForeignKeyJoin[string, string, *string, string, string] {
	return &ForeignKeyJoin[string, string, *string, string, string]{
		ForeignKey: func(_ string, v string) *string {
			if _, fk, ok := strings.Cut(v, "|"); ok && fk != "" {
				return &fk
			}
			return nil
		},
		Joiner:   func(k, v, vo string, found bool) string { return fmt.Sprintf("%s:%s+%s/%v", k, v, vo, found) },
		Left:     left,
		KeySerde: serde.String(), ValueSerde: serde.String(),
		ForeignKeySerde: serde.JSON[*string](), ForeignValueSerde: serde.String(),
		SubscriptionStore: "subs", Topic: "reg",
		LeftTable: joins.GetterSupplier[string, string]{Open: func(joins.StoreSource) (joins.ValueGetter[string, string], error) {
			return func(k string) (state.ValueAndTimestamp[string], bool, error) {
				v, ok := leftRows[k]
				return state.ValueAndTimestamp[string]{Value: v, Timestamp: 1}, ok, nil
			}, nil
		}},
	}
}

// sent is a subscription as the register processor sends it, for comparison.
type sent struct {
	FK   string // "-" for none
	In   Instruction
	Hash string // the value hashed, "-" for none
}

// The subscriptions a left change sends (Kafka Streams' SubscriptionSendProcessorSupplier,
// with rill's corrections: an inner join's row losing its foreign key deletes its result,
// and a changed key is unsubscribed without a spurious intermediate result).
func TestForeignKeyRegister(t *testing.T) {
	ch := func(old, nw string) tablejoin.Change[string] {
		return tablejoin.Change[string]{Old: old, HasOld: old != "", New: nw, HasNew: nw != ""}
	}
	cases := []struct {
		name    string
		left    bool
		change  tablejoin.Change[string]
		want    []sent
		dropped int
	}{
		{"inner new row", false, ch("", "a|1"), []sent{{"1", PropagateOnlyIfFKValue, "a|1"}}, 0},
		// The same foreign key: a row there answers; none means there was no result before
		// and is none now, so nothing to delete (Kafka Streams 4.1.1 emits no tombstone).
		{"inner same key", false, ch("a|1", "b|1"), []sent{{"1", PropagateOnlyIfFKValue, "b|1"}}, 0},
		{"inner key change", false, ch("a|1", "a|2"), []sent{{"1", DeleteKeyNoPropagate, "a|2"}, {"2", PropagateNullIfNoFKValue, "a|2"}}, 0},
		{"inner key lost", false, ch("a|1", "a"), []sent{{"1", DeleteKeyAndPropagate, "a"}}, 0},
		{"inner key gained", false, ch("a", "a|1"), []sent{{"1", PropagateOnlyIfFKValue, "a|1"}}, 0},
		{"inner delete", false, ch("a|1", ""), []sent{{"1", DeleteKeyAndPropagate, "-"}}, 0},
		{"inner no key", false, ch("", "a"), nil, 1},
		{"inner delete without key", false, ch("a", ""), nil, 0},
		{"left new row", true, ch("", "a|1"), []sent{{"1", PropagateNullIfNoFKValue, "a|1"}}, 0},
		{"left new row without key", true, ch("", "a"), []sent{{"-", PropagateNullIfNoFKValue, "a"}}, 0},
		{"left key change", true, ch("a|1", "a|2"), []sent{{"1", DeleteKeyNoPropagate, "a|2"}, {"2", PropagateNullIfNoFKValue, "a|2"}}, 0},
		{"left key lost", true, ch("a|1", "a"), []sent{{"1", DeleteKeyNoPropagate, "a"}, {"-", PropagateNullIfNoFKValue, "a"}}, 0},
		{"left delete", true, ch("a|1", ""), []sent{{"1", DeleteKeyAndPropagate, "-"}}, 0},
		{"left delete without key", true, ch("a", ""), []sent{{"-", PropagateNullIfNoFKValue, "-"}}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			j := fkFixture(c.left, nil)
			p := j.Register(func(c tablejoin.Change[string]) tablejoin.Change[string] { return c })()
			ctx := &fakeCtx[*string, Subscription[string]]{partition: 7}
			if err := p.Init(ctx); err != nil {
				t.Fatal(err)
			}
			if err := p.Process(processor.Record[string, tablejoin.Change[string]]{Key: "k", Value: c.change, Timestamp: 5}); err != nil {
				t.Fatal(err)
			}
			var got []sent
			for _, r := range ctx.take() {
				s := sent{FK: "-", In: r.Value.Instruction, Hash: "-"}
				if !r.Value.NoForeignKey {
					s.FK = *r.Key
				}
				if r.Value.HasHash {
					s.Hash = "?" // the hash of something else than the new value
					if Murmur3([]byte(c.change.New)) == r.Value.Hash {
						s.Hash = c.change.New
					}
				}
				if r.Value.PrimaryKey != "k" || r.Value.PrimaryPartition != 7 || r.Timestamp != 5 {
					t.Errorf("subscription %+v at %d: want primary key k, partition 7, timestamp 5", r.Value, r.Timestamp)
				}
				got = append(got, s)
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("sent %v, want %v", got, c.want)
			}
			if len(ctx.dropped) != c.dropped {
				t.Errorf("dropped %v, want %d", ctx.dropped, c.dropped)
			}
		})
	}
}

// Responses answering an outdated left value are dropped and counted; current ones joined.
func TestForeignKeyResolveDropsStaleResponses(t *testing.T) {
	rows := map[string]string{"k": "v2|1"}
	for _, left := range []bool{false, true} {
		j := fkFixture(left, rows)
		p := j.Resolve(func(v string, ok bool) *string {
			if !ok {
				return nil
			}
			return &v
		})()
		ctx := &fakeCtx[string, *string]{}
		if err := p.Init(ctx); err != nil {
			t.Fatal(err)
		}
		respond := func(k string, hashOf string, fv string, hasFV bool) []processor.Record[string, *string] {
			r := Response[string]{ForeignValue: fv, HasForeign: hasFV}
			if hashOf != "" {
				r.Hash, r.HasHash = Murmur3([]byte(hashOf)), true
			}
			if err := p.Process(processor.Record[string, Response[string]]{Key: k, Value: r, Timestamp: 9}); err != nil {
				t.Fatal(err)
			}
			return ctx.take()
		}
		if out := respond("k", "v1|1", "F", true); len(out) != 0 || len(ctx.dropped) != 1 {
			t.Errorf("left=%v: stale response gave %v, dropped %v", left, out, ctx.dropped)
		}
		out := respond("k", "v2|1", "F", true)
		if len(out) != 1 || out[0].Value == nil || *out[0].Value != "k:v2|1+F/true" || out[0].Timestamp != 9 {
			t.Errorf("left=%v: current response gave %v", left, out)
		}
		out = respond("k", "v2|1", "", false)
		switch {
		case len(out) != 1:
			t.Errorf("left=%v: response without a foreign row gave %v", left, out)
		case left && (out[0].Value == nil || *out[0].Value != "k:v2|1+/false"):
			t.Errorf("left join: response without a foreign row gave %v, want unmatched result", *out[0].Value)
		case !left && out[0].Value != nil:
			t.Errorf("inner join: response without a foreign row gave %v, want a tombstone", *out[0].Value)
		}
		// A deleted left row: the delete's response (no hash) deletes the result.
		if out := respond("gone", "", "", false); len(out) != 1 || out[0].Value != nil {
			t.Errorf("left=%v: response for a deleted row gave %v, want a tombstone", left, out)
		}
		// A response for a row deleted since: dropped.
		if out := respond("gone", "old", "F", true); len(out) != 0 {
			t.Errorf("left=%v: response for a row deleted since gave %v", left, out)
		}
	}
}

func TestSubscriptionSerdes(t *testing.T) {
	ss := SubscriptionSerde(serde.String())
	for _, s := range []Subscription[string]{
		{Instruction: PropagateOnlyIfFKValue, PrimaryKey: "k", Hash: Hash{1, 2}, HasHash: true, PrimaryPartition: 3},
		{Instruction: DeleteKeyAndPropagate, PrimaryKey: "", PrimaryPartition: -1},
		{Instruction: PropagateNullIfNoFKValue, PrimaryKey: "pk", NoForeignKey: true, Hash: Hash{^uint64(0), 0}, HasHash: true},
	} {
		b, err := ss.Serialize("t", s)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ss.Deserialize("t", b)
		if err != nil || got != s {
			t.Errorf("round trip of %+v: %+v, %v", s, got, err)
		}
	}
	rs := ResponseSerde(serde.String())
	for _, r := range []Response[string]{
		{Hash: Hash{5, 6}, HasHash: true, ForeignValue: "fv", HasForeign: true},
		{HasForeign: true},
		{Hash: Hash{5, 6}, HasHash: true},
		{},
	} {
		b, err := rs.Serialize("t", r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := rs.Deserialize("t", b)
		if err != nil || got != r {
			t.Errorf("round trip of %+v: %+v, %v", r, got, err)
		}
	}
	// Corrupt and future messages are errors, not panics.
	for _, b := range [][]byte{nil, {0}, {1, 0, 0, 0, 0, 0, 0}, {0, 1, 0, 0, 0, 0, 0, 1}, {0, 0, 9, 0, 0, 0, 0}} {
		if _, err := ss.Deserialize("t", b); err == nil {
			t.Errorf("subscription %v decoded", b)
		}
	}
	if _, err := ss.Deserialize("t", []byte{1, 0, 0, 0, 0, 0, 0}); !errors.Is(err, ErrWireVersion) {
		t.Errorf("future subscription: %v, want ErrWireVersion", err)
	}
	for _, b := range [][]byte{nil, {0}, {2, 0}, {0, 1, 1}} {
		if _, err := rs.Deserialize("t", b); err == nil {
			t.Errorf("response %v decoded", b)
		}
	}
}

func TestCombinedKey(t *testing.T) {
	k := CombinedKey([]byte("fk"), []byte("pk"))
	fk, pk, err := SplitCombinedKey(k)
	if err != nil || string(fk) != "fk" || string(pk) != "pk" {
		t.Errorf("split %q: %q %q %v", k, fk, pk, err)
	}
	if p := CombinedKeyPrefix([]byte("fk")); !strings.HasPrefix(string(k), string(p)) {
		t.Errorf("prefix %q of %q", p, k)
	}
	// "f" must not prefix-match "fk"'s subscriptions: the length is part of the prefix.
	if strings.HasPrefix(string(k), string(CombinedKeyPrefix([]byte("f")))) {
		t.Errorf("foreign key f's prefix matches fk's key")
	}
	for _, b := range [][]byte{nil, {0, 0}, {0, 0, 0, 9, 'a'}} {
		if _, _, err := SplitCombinedKey(b); err == nil {
			t.Errorf("split %v succeeded", b)
		}
	}
}
