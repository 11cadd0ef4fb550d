package assign

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

// The group-protocol bytes come from other members, possibly of another version or corrupt:
// decoding must never panic or allocate by a length it has not checked. Properties: errors
// wrap ErrMalformed and say "rill:"; what decodes re-encodes (in SubscriptionVersion or
// AssignmentVersion) to bytes that decode to the same value.

func wantMalformed(t *testing.T, data []byte, err error) {
	t.Helper()
	if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "rill: ") {
		t.Fatalf("%x: error %v, want a rill: error wrapping ErrMalformed", data, err)
	}
}

func FuzzDecodeSubscription(f *testing.F) {
	f.Add(EncodeSubscription(sampleSubscription()))
	f.Add(EncodeSubscription(Subscription{}))
	f.Add(EncodeSubscription(Subscription{ProcessID: "p", PrevActive: []TaskID{{1<<31 - 1, 1<<31 - 1}, {0, 0}},
		TaskOffsetSums: map[TaskID]int64{{5, 1<<31 - 1}: -1 << 63}}))
	// A later version with a field appended.
	f.Add(append([]byte{2}, append(EncodeSubscription(sampleSubscription())[1:], 0x2a)...))
	f.Add([]byte{0x01, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Add([]byte{3, 0, 0, 1, 0, 1, 2, 0, 1, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := DecodeSubscription(data)
		if err != nil {
			wantMalformed(t, data, err)
			if !reflect.DeepEqual(s, Subscription{}) {
				t.Fatalf("%x: partial subscription %+v returned with %v", data, s, err)
			}
			return
		}
		if s.Version < 1 {
			t.Fatalf("%x decodes with version %d", data, s.Version)
		}
		for _, ts := range [][]TaskID{s.PrevActive, s.PrevStandby} {
			for i, task := range ts {
				if !task.valid() || i > 0 && ts[i-1].Compare(task) >= 0 {
					t.Fatalf("%x decodes to task list %v: invalid or out of order", data, ts)
				}
			}
		}
		b := EncodeSubscription(s)
		back, err := DecodeSubscription(b)
		if err != nil {
			t.Fatalf("%x decodes to %+v, which encodes to %x, which does not decode: %v", data, s, b, err)
		}
		back.Version = s.Version
		if !reflect.DeepEqual(back, s) {
			t.Fatalf("%x decodes to %+v, which encodes to %x, which decodes to %+v", data, s, b, back)
		}
	})
}

func FuzzDecodeAssignment(f *testing.F) {
	f.Add(EncodeAssignment(sampleAssignment()))
	f.Add(EncodeAssignment(AssignmentInfo{}))
	f.Add(EncodeAssignment(AssignmentInfo{ErrorCode: -1 << 31, HostTasks: map[string][]TaskID{"": nil, "h:1": {{0, 0}}}}))
	f.Add(append([]byte{9}, append(EncodeAssignment(sampleAssignment())[1:], 1, 2, 3)...))
	f.Add([]byte{0x01, 0xfe, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00})
	f.Add([]byte{1, 1, 1, 1, 0, 1, 0, 0, 1, 1, 'a', 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := DecodeAssignment(data)
		if err != nil {
			wantMalformed(t, data, err)
			if !reflect.DeepEqual(a, AssignmentInfo{}) {
				t.Fatalf("%x: partial assignment %+v returned with %v", data, a, err)
			}
			return
		}
		b := EncodeAssignment(a)
		back, err := DecodeAssignment(b)
		if err != nil {
			t.Fatalf("%x decodes to %+v, which encodes to %x, which does not decode: %v", data, a, b, err)
		}
		back.Version = a.Version
		if !reflect.DeepEqual(back, a) {
			t.Fatalf("%x decodes to %+v, which encodes to %x, which decodes to %+v", data, a, b, back)
		}
	})
}
