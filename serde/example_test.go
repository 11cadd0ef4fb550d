package serde_test

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/rillstreams/rill/serde"
)

func Example() {
	type Order struct {
		ID     string  `json:"id"`
		Amount float64 `json:"amount"`
	}
	keys := serde.String()
	values := serde.JSON[Order]()

	k, _ := keys.Serialize("orders", "o-1")
	v, _ := values.Serialize("orders", Order{ID: "o-1", Amount: 9.5})
	fmt.Printf("key %q value %s\n", k, v)

	order, err := values.Deserialize("orders", v)
	fmt.Printf("%+v %v\n", order, err)

	// Numbers are big-endian, exactly as Java's LongSerializer writes them.
	n, _ := serde.Int64().Serialize("counts", 1)
	fmt.Printf("% x\n", n)

	// A nil slice is a Kafka null: it deserializes to the zero value.
	zero, err := serde.Int64().Deserialize("counts", nil)
	fmt.Println(zero, err)

	// Output:
	// key "o-1" value {"id":"o-1","amount":9.5}
	// {ID:o-1 Amount:9.5} <nil>
	// 00 00 00 00 00 00 00 01
	// 0 <nil>
}

func ExampleNew() {
	// A uint16 stored as two big-endian bytes.
	port := serde.New(
		func(topic string, v uint16) ([]byte, error) {
			return binary.BigEndian.AppendUint16(nil, v), nil
		},
		func(topic string, data []byte) (uint16, error) {
			if data == nil {
				return 0, nil // null in, zero out, like the stock serdes
			}
			if len(data) != 2 {
				return 0, fmt.Errorf("port needs 2 bytes, got %d", len(data))
			}
			return binary.BigEndian.Uint16(data), nil
		},
	)
	b, _ := port.Serialize("ports", 8080)
	p, _ := port.Deserialize("ports", b)
	fmt.Printf("% x %d\n", b, p)
	_, err := port.Deserialize("ports", []byte{1})
	fmt.Println(err)
	// Output:
	// 1f 90 8080
	// port needs 2 bytes, got 1
}

func ExampleDefault() {
	s, ok := serde.Default[int32]()
	b, _ := s.Serialize("t", -1)
	fmt.Printf("%v % x\n", ok, b)

	_, ok = serde.Default[uint8]()
	fmt.Println(ok)
	// Output:
	// true ff ff ff ff
	// false
}

func ExampleError() {
	_, cause := serde.Int64().Deserialize("orders", []byte{1, 2, 3})
	// The engine wraps the plain error with what it knows about the record.
	var err error = &serde.Error{Topic: "orders", Partition: 2, Offset: 17, Err: cause}
	fmt.Println(err)
	fmt.Println(errors.Is(err, serde.ErrSerialization))
	// Output:
	// rill: cannot deserialize value of record orders[2]@17: rill: int64 needs 8 bytes, got 3
	// true
}
