package assign

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func sampleSubscription() Subscription {
	return Subscription{
		ProcessID:      "6f1c9a3e-0d1b-4c55-9a53-6a0e2b1f7c11",
		PrevActive:     []TaskID{{0, 0}, {0, 1}, {0, 2}, {2, 7}},
		PrevStandby:    []TaskID{{1, 3}, {1, 1000}},
		TaskOffsetSums: map[TaskID]int64{{0, 0}: OffsetSumLatest, {1, 3}: 123456789, {1, 1000}: 0, {3, 0}: OffsetSumUnknown},
		HostPort:       "orders-1:8080",
		Version:        SubscriptionVersion,
	}
}

func sampleAssignment() AssignmentInfo {
	return AssignmentInfo{
		Active:           []TaskID{{0, 1}, {1, 1}},
		Standby:          []TaskID{{0, 2}},
		Version:          AssignmentVersion,
		HostTasks:        map[string][]TaskID{"a:1": {{0, 1}, {1, 1}}, "b:1": {{0, 0}, {0, 2}, {1, 0}}},
		HostStandbys:     map[string][]TaskID{"a:1": {{0, 2}}},
		ProbingRebalance: true,
		ErrorCode:        -7,
	}
}

func TestSubscriptionRoundTrip(t *testing.T) {
	cases := map[string]Subscription{
		"sample": sampleSubscription(),
		"empty":  {Version: SubscriptionVersion},
		"big ids": {ProcessID: "p", PrevActive: []TaskID{{1<<31 - 1, 1<<31 - 1}, {0, 0}},
			TaskOffsetSums: map[TaskID]int64{{5, 1<<31 - 1}: -1 << 63}, Version: SubscriptionVersion},
	}
	for name, s := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeSubscription(EncodeSubscription(s))
			if err != nil {
				t.Fatal(err)
			}
			want := s
			want.PrevActive, want.PrevStandby = sortedTasks(s.PrevActive), sortedTasks(s.PrevStandby)
			if len(want.TaskOffsetSums) == 0 {
				want.TaskOffsetSums = nil
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got  %+v\nwant %+v", got, want)
			}
		})
	}
}

// TestSubscriptionCanonical: unsorted, duplicated input encodes like its sorted form, and the
// encoding is compact.
func TestSubscriptionCanonical(t *testing.T) {
	s := sampleSubscription()
	u := s
	u.PrevActive = []TaskID{{2, 7}, {0, 2}, {0, 0}, {0, 1}, {0, 0}}
	u.Version = 99 // ignored
	if !bytes.Equal(EncodeSubscription(s), EncodeSubscription(u)) {
		t.Fatal("encoding depends on order")
	}
	// 64 tasks of one sub-topology: about a byte each.
	var ts []TaskID
	for p := range 64 {
		ts = append(ts, TaskID{3, int32(p)})
	}
	if n := len(EncodeSubscription(Subscription{PrevActive: ts})); n > 73 {
		t.Fatalf("64 tasks take %d bytes", n)
	}
}

func TestAssignmentRoundTrip(t *testing.T) {
	cases := map[string]AssignmentInfo{
		"sample": sampleAssignment(),
		"empty":  {Version: AssignmentVersion},
	}
	for name, a := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := DecodeAssignment(EncodeAssignment(a))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, a) {
				t.Fatalf("got  %+v\nwant %+v", got, a)
			}
		})
	}
}

// TestForwardCompatible: a later version with appended fields decodes; the same trailing
// bytes in the current version are an error.
func TestForwardCompatible(t *testing.T) {
	want := sampleSubscription()
	want.ShutdownRequested = true
	sub := EncodeSubscription(want)
	next := append([]byte{SubscriptionVersion + 1}, sub[1:]...)
	next = append(next, 0xAA, 0x01, 'x')
	s, err := DecodeSubscription(next)
	if err != nil || s.Version != SubscriptionVersion+1 || s.ProcessID != want.ProcessID || !s.ShutdownRequested {
		t.Fatalf("next version's subscription: %+v, %v", s, err)
	}
	if _, err := DecodeSubscription(append(sub, 0)); !errors.Is(err, ErrMalformed) {
		t.Fatalf("trailing byte in the current version: %v", err)
	}
	// Version 1 (no flags) still decodes: members of an older rill in a rolling upgrade.
	v1 := append([]byte{1}, sub[1:len(sub)-1]...)
	if s, err := DecodeSubscription(v1); err != nil || s.Version != 1 || s.ShutdownRequested || s.ProcessID != want.ProcessID {
		t.Fatalf("v1 subscription: %+v, %v", s, err)
	}
	asg := EncodeAssignment(sampleAssignment())
	nextA := append([]byte{7}, asg[1:]...)
	nextA = append(nextA, 1, 2, 3)
	if a, err := DecodeAssignment(nextA); err != nil || a.Version != 7 || !a.ProbingRebalance {
		t.Fatalf("v7 assignment: %+v, %v", a, err)
	}
}

func TestDecodeMalformed(t *testing.T) {
	good := EncodeSubscription(sampleSubscription())
	cases := map[string][]byte{
		"nil":          nil,
		"version 0":    {0},
		"truncated":    good[:len(good)-1],
		"huge length":  {1, 0xff, 0xff, 0xff, 0xff, 0x0f},
		"bad varint":   {1, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01},
		"neg part":     {1, 0, 0, 1, 0, 1, 1, 0, 0},          // sub 0, 1 task, partition -1
		"dup part":     {1, 0, 0, 1, 0, 2, 0, 0, 0, 0, 0},    // increment 0
		"subs unorder": {1, 0, 0, 2, 2, 1, 0, 0, 1, 0, 0, 0}, // sub 1 then sub 0
		"empty group":  {1, 0, 0, 1, 0, 0, 0, 0},
	}
	for name, b := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := DecodeSubscription(b)
			if !errors.Is(err, ErrMalformed) || !strings.HasPrefix(err.Error(), "rill: ") {
				t.Fatalf("err = %v", err)
			}
			_, err = DecodeAssignment(b)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("assignment err = %v", err)
			}
		})
	}
	// Hosts out of order.
	b := EncodeAssignment(AssignmentInfo{HostTasks: map[string][]TaskID{"a": nil, "b": nil}})
	i := bytes.IndexByte(b, 'a')
	b[i], b[i+3] = 'b', 'a'
	if _, err := DecodeAssignment(b); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unordered hosts: %v", err)
	}
}

func TestTaskIDString(t *testing.T) {
	for _, tk := range []TaskID{{0, 0}, {12, 345}} {
		got, err := ParseTaskID(tk.String())
		if err != nil || got != tk {
			t.Fatalf("%v: %v %v", tk, got, err)
		}
	}
	for _, s := range []string{"", "1", "a_1", "1_-1", "-1_0", "1_99999999999"} {
		if _, err := ParseTaskID(s); err == nil {
			t.Fatalf("%q parsed", s)
		}
	}
}

func TestLagsFromOffsetSums(t *testing.T) {
	a, b, c, d, e := TaskID{0, 0}, TaskID{0, 1}, TaskID{0, 2}, TaskID{0, 3}, TaskID{0, 4}
	end := map[TaskID]int64{a: 100, b: 100, c: 100, d: 100, e: 100}
	sums := map[TaskID]int64{a: OffsetSumLatest, b: 40, d: 500, e: OffsetSumUnknown, {9, 9}: 5}
	got := LagsFromOffsetSums(sums, end)
	want := map[TaskID]int64{a: 0, b: 60, c: 100, d: 100, e: 100}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
}
