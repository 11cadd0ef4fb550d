package dsl

import (
	"strconv"

	"github.com/rillstreams/rill/processor"
)

// BranchedStream routes records to branches by predicate (Kafka Streams' BranchedKStream).
// Get one from Stream.Split, add branches in order with Branch, and finish with DefaultBranch
// or NoDefaultBranch, which return the branches by name.
type BranchedStream[K, V any] struct {
	parent   *Stream[K, V]
	name     string
	state    *splitState[K, V]
	branches map[string]*Stream[K, V]
}

// splitState is shared by the builder and every task's branch processor: branches are added
// after the processor node, and the node reads them when it runs.
type splitState[K, V any] struct {
	preds        []func(K, V) bool
	children     []string
	defaultChild string
}

// Split starts routing the stream to branches; Named sets the prefix of branch names.
func (s *Stream[K, V]) Split(opts ...Option) *BranchedStream[K, V] {
	name := s.b.nameOr(nameOf(opts), "KSTREAM-BRANCH-")
	st := &splitState[K, V]{}
	addProcessor(s, name, func() processor.Processor[K, V, K, V] { return &branchOp[K, V]{split: st} })
	return &BranchedStream[K, V]{parent: s, name: name, state: st, branches: make(map[string]*Stream[K, V])}
}

// Branch adds a branch taking the records pred holds for that no earlier branch took. Its name
// is the split's name and Branched's name, or the split's name and the branch's position
// (from 1).
func (bs *BranchedStream[K, V]) Branch(pred func(K, V) bool, opts ...BranchOption) *BranchedStream[K, V] {
	bs.state.preds = append(bs.state.preds, pred)
	bs.state.children = append(bs.state.children, bs.addBranch(len(bs.state.preds), opts))
	return bs
}

// DefaultBranch adds a branch for the records no other branch took (named with position 0)
// and returns all branches by name.
func (bs *BranchedStream[K, V]) DefaultBranch(opts ...BranchOption) map[string]*Stream[K, V] {
	bs.state.defaultChild = bs.addBranch(0, opts)
	return bs.branches
}

// NoDefaultBranch returns all branches by name; records no branch took are dropped.
func (bs *BranchedStream[K, V]) NoDefaultBranch() map[string]*Stream[K, V] { return bs.branches }

func (bs *BranchedStream[K, V]) addBranch(index int, opts []BranchOption) string {
	var suffix string
	for _, o := range opts {
		o.applyBranch(&suffix)
	}
	if suffix == "" {
		suffix = strconv.Itoa(index)
	}
	name := bs.name + suffix
	b := bs.parent.b
	b.newName(name) // Kafka Streams burns a counter value per branch; keep names in step
	s := bs.parent
	addProcessor(s, name, passThroughSupplier[K, V](), bs.name)
	bs.branches[name] = derive(b, name, s.keySerde, s.valueSerde, s.repartitionRequired)
	return name
}
