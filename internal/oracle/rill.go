package oracle

import (
	"encoding/binary"
	"fmt"
	"strconv"
	"testing"
	"time"

	"go.uber.org/zap"

	"github.com/rillstreams/rill/serde"
	"github.com/rillstreams/rill/streamstest"
)

// RunRill runs a case through rill's test driver: the family's topology built with rill's DSL,
// the inputs piped in order, every record written to "out" read back. A topology that fails
// to build or fails on a record (or panics) gives a Result with Error set.
func RunRill(tb testing.TB, c Case) (res Result) {
	res.ID = c.ID
	defer func() {
		if r := recover(); r != nil {
			res.Error = fmt.Sprintf("panic: %v", r)
		}
	}()
	topo, typ, err := build(c)
	if err != nil {
		res.Error = err.Error()
		return res
	}
	// No record cache unless the case asks for one: the Kafka Streams side runs with
	// statestore.cache.max.bytes=0 then, or its default of 10 MiB.
	cache := int64(0)
	if c.Params.Cache {
		cache = 10 << 20
	}
	d := streamstest.New(tb, topo, streamstest.WithLogger(zap.NewNop()), streamstest.WithCacheMaxBytes(cache))
	defer d.Close()
	out := streamstest.Output(d, "out", serde.Bytes(), serde.Bytes())
	res.Output = []Record{}
	for _, r := range c.Inputs {
		in := streamstest.Input(d, r.Topic, serde.Bytes(), serde.Bytes())
		if err := in.PipeRaw(raw(r.Key), raw(r.Value), time.UnixMilli(r.TS)); err != nil {
			res.Error = err.Error()
			return res
		}
		for _, o := range out.ReadAll() {
			res.Output = append(res.Output, Record{Topic: "out", Key: decode(o.Key, "string"), Value: decode(o.Value, typ), TS: o.Time.UnixMilli()})
		}
	}
	return res
}

func raw(s *string) []byte {
	if s == nil {
		return nil
	}
	return []byte(*s)
}

// decode renders output bytes as the Java side prints them: null, a string, or a long.
func decode(b []byte, typ string) *string {
	switch {
	case b == nil:
		return nil
	case typ == "long" && len(b) == 8:
		return ptr(strconv.FormatInt(int64(binary.BigEndian.Uint64(b)), 10))
	case typ == "long":
		return ptr(fmt.Sprintf("<%d bytes %x>", len(b), b))
	}
	return ptr(string(b))
}
