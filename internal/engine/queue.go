package engine

// recordQueue holds one partition's records in offset order. It is a slice with a moving head;
// the consumed prefix is reclaimed when it outgrows the live part, so a steady stream reuses
// one backing array instead of allocating per record.
type recordQueue struct {
	tp    topicPartition
	recs  []RawRecord
	first int
}

func (q *recordQueue) len() int         { return len(q.recs) - q.first }
func (q *recordQueue) head() *RawRecord { return &q.recs[q.first] }

func (q *recordQueue) push(r RawRecord) {
	if q.first > 0 && q.first >= len(q.recs)/2 {
		n := copy(q.recs, q.recs[q.first:])
		clear(q.recs[n:]) // drop references so consumed records can be collected
		q.recs = q.recs[:n]
		q.first = 0
	}
	q.recs = append(q.recs, r)
}

func (q *recordQueue) pop() RawRecord {
	r := q.recs[q.first]
	q.recs[q.first] = RawRecord{}
	q.first++
	if q.first == len(q.recs) {
		q.recs = q.recs[:0]
		q.first = 0
	}
	return r
}
