package topology

import (
	"slices"
	"strings"
)

// Kafka Streams prints node sets in orders that come from Java collections: HashSet iteration
// (topics, stores, the order nodes are visited) and TreeSets whose comparator reads a node's
// "size" while sizes are still being computed, so an edge list's order depends on when each
// edge was inserted. Matching describe() byte for byte means replaying that: this file
// emulates the few Java behaviours involved. Kafka Streams' own algorithm is in
// InternalTopologyBuilder.describeSubtopology.

// javaStringHash is Java's String.hashCode over UTF-16 code units.
func javaStringHash(s string) int32 {
	var h int32
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			h = 31*h + int32(0xD800+(r>>10))
			h = 31*h + int32(0xDC00+(r&0x3FF))
			continue
		}
		h = 31*h + int32(r)
	}
	return h
}

// javaBucket is the bucket of s in a java.util.HashMap table of the given capacity.
func javaBucket(s string, capacity int) int {
	u := uint32(javaStringHash(s))
	return int((u ^ (u >> 16)) & uint32(capacity-1))
}

// javaHashOrder returns names in the iteration order of a java.util.HashSet or HashMap holding
// them, inserted in the given order: by bucket, ties in insertion order (bucket splits on resize
// keep relative order). capacity is the final table size.
func javaHashOrder(names []string, capacity int) []string {
	out := slices.Clone(names)
	slices.SortStableFunc(out, func(a, b string) int { return javaBucket(a, capacity) - javaBucket(b, capacity) })
	return out
}

// javaDefaultCapacity is the table size of a HashMap built with new HashMap<>() after n puts:
// 16, doubled whenever the size passes three quarters of it.
func javaDefaultCapacity(n int) int {
	c := 16
	for n > c*3/4 {
		c *= 2
	}
	return c
}

// javaCopyCapacity is the table size of new HashSet<>(collection of n elements).
func javaCopyCapacity(n int) int {
	want := max(int(float32(n)/0.75)+1, 16)
	c := 1
	for c < want {
		c *= 2
	}
	return c
}

// javaHashSetOrder returns names in the order new HashSet<>(names) iterates them: how Kafka
// Streams prints a node's topics and stores.
func javaHashSetOrder(names []string) []string {
	if len(names) < 2 {
		return names
	}
	return javaHashOrder(names, javaCopyCapacity(len(names)))
}

// descNode is a node being described: its size (nodes downstream, itself included, once per
// path) and its edges as java.util.TreeSets ordered by size, bigger first, then name.
type descNode struct {
	name         string
	size         int
	preds, succs treeSet
}

func compareDescNodes(a, b *descNode) int {
	if a == b {
		return 0
	}
	if a.size != b.size {
		return b.size - a.size
	}
	return strings.Compare(a.name, b.name)
}

// treeSet is a java.util.TreeSet of nodes: a red-black tree with TreeMap's insertion, so that
// insertion with a comparator that changed since earlier insertions lands where Java's would.
type treeSet struct{ root *rbNode }

type rbNode struct {
	n                   *descNode
	left, right, parent *rbNode
	red                 bool
}

func (s *treeSet) add(n *descNode) {
	if s.root == nil {
		s.root = &rbNode{n: n}
		return
	}
	t := s.root
	var parent *rbNode
	cmp := 0
	for t != nil {
		parent = t
		cmp = compareDescNodes(n, t.n)
		switch {
		case cmp < 0:
			t = t.left
		case cmp > 0:
			t = t.right
		default:
			return // already present
		}
	}
	e := &rbNode{n: n, parent: parent}
	if cmp < 0 {
		parent.left = e
	} else {
		parent.right = e
	}
	s.fixAfterInsert(e)
}

func (s *treeSet) each(f func(*descNode)) {
	var walk func(*rbNode)
	walk = func(x *rbNode) {
		if x != nil {
			walk(x.left)
			f(x.n)
			walk(x.right)
		}
	}
	walk(s.root)
}

func (s *treeSet) names() []string {
	var out []string
	s.each(func(n *descNode) { out = append(out, n.name) })
	return out
}

func isRed(x *rbNode) bool { return x != nil && x.red }

func parentOf(x *rbNode) *rbNode {
	if x == nil {
		return nil
	}
	return x.parent
}

func leftOf(x *rbNode) *rbNode {
	if x == nil {
		return nil
	}
	return x.left
}

func rightOf(x *rbNode) *rbNode {
	if x == nil {
		return nil
	}
	return x.right
}

func setRed(x *rbNode, red bool) {
	if x != nil {
		x.red = red
	}
}

// fixAfterInsert restores the red-black invariants after inserting x (CLR's algorithm, the one
// java.util.TreeMap uses).
func (s *treeSet) fixAfterInsert(x *rbNode) {
	x.red = true
	for x != nil && x != s.root && x.parent.red {
		p, g := parentOf(x), parentOf(parentOf(x))
		if p == leftOf(g) {
			if y := rightOf(g); isRed(y) {
				setRed(p, false)
				setRed(y, false)
				setRed(g, true)
				x = g
				continue
			}
			if x == rightOf(p) {
				x = p
				s.rotateLeft(x)
			}
			setRed(parentOf(x), false)
			setRed(parentOf(parentOf(x)), true)
			s.rotateRight(parentOf(parentOf(x)))
		} else {
			if y := leftOf(g); isRed(y) {
				setRed(p, false)
				setRed(y, false)
				setRed(g, true)
				x = g
				continue
			}
			if x == leftOf(p) {
				x = p
				s.rotateRight(x)
			}
			setRed(parentOf(x), false)
			setRed(parentOf(parentOf(x)), true)
			s.rotateLeft(parentOf(parentOf(x)))
		}
	}
	s.root.red = false
}

func (s *treeSet) rotateLeft(p *rbNode) {
	if p == nil {
		return
	}
	r := p.right
	p.right = r.left
	if r.left != nil {
		r.left.parent = p
	}
	r.parent = p.parent
	switch {
	case p.parent == nil:
		s.root = r
	case p.parent.left == p:
		p.parent.left = r
	default:
		p.parent.right = r
	}
	r.left = p
	p.parent = r
}

func (s *treeSet) rotateRight(p *rbNode) {
	if p == nil {
		return
	}
	l := p.left
	p.left = l.right
	if l.right != nil {
		l.right.parent = p
	}
	l.parent = p.parent
	switch {
	case p.parent == nil:
		s.root = l
	case p.parent.right == p:
		p.parent.right = l
	default:
		p.parent.left = l
	}
	l.right = p
	p.parent = l
}

// updateSize adds delta to n's size and, transitively, to every node upstream of it.
func updateSize(n *descNode, delta int) {
	n.size += delta
	n.preds.each(func(p *descNode) { updateSize(p, delta) })
}
