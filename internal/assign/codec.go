package assign

import (
	"encoding/binary"
	"fmt"
	"math"
	"slices"
)

// The wire format of this package's group-protocol bytes. Every encoding starts with its
// version as a uvarint; the fields follow in a fixed order. Newer versions only append fields,
// so a decoder reads the fields it knows from any version ≥ 1 and ignores what follows them;
// fields a sender's version predates decode as zero values. Integers are varints (zig-zag when
// signed), strings and lists are length-prefixed, and task lists are grouped by sub-topology
// with delta-coded partitions, so n consecutive partitions of one sub-topology take about n
// bytes. Decoding checks every length against the bytes left, so garbage yields ErrMalformed,
// never a panic or a huge allocation.

// writer appends the encoding of values to b.
type writer struct{ b []byte }

func (w *writer) uvarint(v uint64) { w.b = binary.AppendUvarint(w.b, v) }
func (w *writer) varint(v int64)   { w.b = binary.AppendVarint(w.b, v) }

func (w *writer) str(s string) {
	w.uvarint(uint64(len(s)))
	w.b = append(w.b, s...)
}

// tasks writes a task list: the number of sub-topologies, then for each its id, its number of
// partitions, the first partition and the increments to the next ones. Tasks are sorted and
// duplicates dropped.
func (w *writer) tasks(ts []TaskID) {
	ts = sortedTasks(ts)
	w.groups(ts, nil)
}

// taskValues writes a task → int64 map as a task list with a varint after each partition.
func (w *writer) taskValues(m map[TaskID]int64) {
	ts := make([]TaskID, 0, len(m))
	for t := range m {
		ts = append(ts, t)
	}
	slices.SortFunc(ts, TaskID.Compare)
	w.groups(ts, func(t TaskID) { w.varint(m[t]) })
}

func (w *writer) groups(ts []TaskID, value func(TaskID)) {
	n := 0
	for i := range ts {
		if i == 0 || ts[i].Subtopology != ts[i-1].Subtopology {
			n++
		}
	}
	w.uvarint(uint64(n))
	for i := 0; i < len(ts); {
		j := i
		for j < len(ts) && ts[j].Subtopology == ts[i].Subtopology {
			j++
		}
		w.varint(int64(ts[i].Subtopology))
		w.uvarint(uint64(j - i))
		for k := i; k < j; k++ {
			if k == i {
				w.varint(int64(ts[k].Partition))
			} else {
				w.uvarint(uint64(ts[k].Partition - ts[k-1].Partition))
			}
			if value != nil {
				value(ts[k])
			}
		}
		i = j
	}
}

// reader decodes; the first error sticks and every later read returns zero values.
type reader struct {
	what string // "subscription" or "assignment", for errors
	b    []byte
	off  int
	err  error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf("%w: %s: %s at byte %d", ErrMalformed, r.what, fmt.Sprintf(format, args...), r.off)
	}
}

func (r *reader) left() int { return len(r.b) - r.off }

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad uvarint")
		return 0
	}
	r.off += n
	return v
}

func (r *reader) varint() int64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Varint(r.b[r.off:])
	if n <= 0 {
		r.fail("bad varint")
		return 0
	}
	r.off += n
	return v
}

// count reads a length that must not exceed the bytes left divided by min bytes per element.
func (r *reader) count(minBytes int) int {
	v := r.uvarint()
	if r.err == nil && v > uint64(r.left()/minBytes) {
		r.fail("length %d exceeds the data", v)
		return 0
	}
	return int(v)
}

func (r *reader) str() string {
	n := r.count(1)
	if r.err != nil {
		return ""
	}
	s := string(r.b[r.off : r.off+n])
	r.off += n
	return s
}

// version reads the leading version, which must be at least 1.
func (r *reader) version() int {
	v := r.uvarint()
	if r.err == nil && (v == 0 || v > math.MaxInt32) {
		r.fail("bad version %d", v)
	}
	return int(v)
}

func (r *reader) tasks() []TaskID {
	var ts []TaskID
	r.groups(func(t TaskID) { ts = append(ts, t) }, 1)
	return ts
}

func (r *reader) taskValues() map[TaskID]int64 {
	var m map[TaskID]int64
	r.groups(func(t TaskID) {
		v := r.varint()
		if m == nil {
			m = map[TaskID]int64{}
		}
		m[t] = v
	}, 2)
	if r.err != nil {
		return nil
	}
	return m
}

// groups reads a task list written by writer.groups, calling each for every task (which may
// read a value after it); perTask is the least number of bytes a task takes. Sub-topologies and
// partitions must be non-negative and strictly increasing: an encoding is canonical.
func (r *reader) groups(each func(TaskID), perTask int) {
	n := r.count(2)
	prevSub := int64(-1)
	for range n {
		sub := r.varint()
		if r.err == nil && (sub <= prevSub || sub > math.MaxInt32) {
			r.fail("sub-topology %d out of order or range", sub)
		}
		prevSub = sub
		m := r.count(perTask)
		if r.err == nil && m == 0 {
			r.fail("empty sub-topology group %d", sub)
		}
		var p int64
		for k := range m {
			if k == 0 {
				p = r.varint()
				if r.err == nil && (p < 0 || p > math.MaxInt32) {
					r.fail("partition %d out of range", p)
				}
			} else {
				d := r.uvarint()
				if r.err == nil && (d == 0 || d > uint64(math.MaxInt32-p)) {
					r.fail("partition increment %d out of range", d)
				}
				p += int64(d)
			}
			if r.err != nil {
				return
			}
			each(TaskID{Subtopology: int(sub), Partition: int32(p)})
			if r.err != nil {
				return
			}
		}
	}
}

// end checks that nothing follows the known fields, unless a newer version may have put more.
func (r *reader) end(version, known int) {
	if r.err == nil && version <= known && r.left() != 0 {
		r.fail("%d trailing bytes", r.left())
	}
}
