package kafka

import (
	"sync"
	"unsafe"

	"github.com/twmb/franz-go/pkg/kgo"
)

// Promise is told the fate of a record sent with Session.ProduceTo, on a franz-go goroutine:
// its topic and offset, or the error. arg is what the sender passed along with the record.
// One Promise value serves many records, so that a send allocates no callback.
type Promise interface {
	Produced(arg any, topic string, offset int64, err error)
}

// PromiseFunc is a Promise that ignores arg.
type PromiseFunc func(offset int64, err error)

func (f PromiseFunc) Produced(_ any, _ string, offset int64, err error) { f(offset, err) }

// sendRecord is a pooled kgo.Record with what its promise needs. franz-go hands the promise
// only the *kgo.Record: rec is the first field, so the promise gets its sendRecord back from
// that pointer (fromRecord). The record's Context cannot be it: franz-go may keep a record's
// context past its promise (a goroutine waiting for an unknown topic's metadata selects on
// it), so it stays a context that lives as long as the session. franz-go does not touch the
// record itself after its promise ran, so the promise puts it back in the pool last.
type sendRecord struct {
	rec     kgo.Record // first: see fromRecord
	s       *Session
	promise Promise
	arg     any
}

var sendRecords = sync.Pool{New: func() any { return new(sendRecord) }}

// fromRecord returns the sendRecord whose rec is r: only for records ProduceTo sent.
func fromRecord(r *kgo.Record) *sendRecord { return (*sendRecord)(unsafe.Pointer(r)) }

// release clears r, keeping its headers' capacity, and returns it to the pool.
func (r *sendRecord) release() {
	h := r.rec.Headers[:0]
	clear(r.rec.Headers)
	*r = sendRecord{}
	r.rec.Headers = h
	sendRecords.Put(r)
}
