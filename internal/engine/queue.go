package engine

// recordQueue holds one partition's records in offset order. It is a slice with a moving head;
// the consumed prefix is reclaimed when it outgrows the live part, so a steady stream reuses
// one backing array instead of allocating per record.
type recordQueue struct {
	tp    topicPartition
	recs  []RawRecord
	first int
	// next is the offset after the last record taken off the queue (-1: none yet), the
	// partition's position to commit.
	next int64
	// partitionTime is the largest timestamp a timestamp extractor gave this partition's
	// records (processor.UnknownTime before the first).
	partitionTime int64
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
	q.next = r.Offset + 1
	q.recs[q.first] = RawRecord{}
	q.first++
	if q.first == len(q.recs) {
		q.recs = q.recs[:0]
		q.first = 0
	}
	return r
}

// clear drops the queued records and forgets the position.
func (q *recordQueue) clear() {
	clear(q.recs)
	q.recs = q.recs[:0]
	q.first = 0
	q.next = -1
}
