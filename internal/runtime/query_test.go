package runtime

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"
)

// The query lock: a query gives up on a rebalancing thread or its context, and the lock it
// was waiting for is released again (no leaked Lock); a thread between records lets a waiting
// query in.

func TestQueryLockGivesUpOnRebalanceWithoutLeakingTheLock(t *testing.T) {
	th := &thread{}
	th.queryMu.Lock() // the thread is busy
	done := make(chan error, 1)
	go func() { done <- th.lockForQuery(context.Background()) }()
	for th.queryWaiting.Load() == 0 {
		time.Sleep(time.Millisecond)
	}
	th.migrating.Store(true) // a rebalance begins
	if err := <-done; !errors.Is(err, errRebalancing) {
		t.Fatalf("lockForQuery = %v, want errRebalancing", err)
	}
	if n := th.queryWaiting.Load(); n != 0 {
		t.Errorf("queryWaiting = %d after giving up", n)
	}
	th.queryMu.Unlock()
	// The abandoned wait takes the lock and gives it back: the thread gets it again.
	got := make(chan struct{})
	go func() { th.queryMu.Lock(); close(got) }()
	select {
	case <-got:
		th.queryMu.Unlock()
	case <-time.After(10 * time.Second):
		t.Fatal("the lock was leaked by the abandoned query")
	}
	th.migrating.Store(false)
	if err := th.lockForQuery(context.Background()); err != nil {
		t.Fatal(err)
	}
	th.queryMu.Unlock()
}

func TestQueryLockGivesUpWithContext(t *testing.T) {
	th := &thread{}
	th.queryMu.Lock()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if err := th.lockForQuery(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("lockForQuery = %v, want the deadline", err)
	}
	th.queryMu.Unlock()
	if th.migrating.Load() {
		t.Fatal("unexpected")
	}
	th.migrating.Store(true)
	if err := th.lockForQuery(context.Background()); !errors.Is(err, errRebalancing) {
		t.Fatalf("rebalancing thread: %v", err)
	}
}

func TestThreadYieldsToWaitingQuery(t *testing.T) {
	th := &thread{}
	th.queryMu.Lock()
	var queried atomic.Bool
	go func() {
		if err := th.lockForQuery(context.Background()); err != nil {
			t.Error(err)
			return
		}
		queried.Store(true)
		th.queryMu.Unlock()
	}()
	// The thread processes "records", yielding between them, until the query got in; it
	// never lets go of the lock otherwise.
	deadline := time.Now().Add(30 * time.Second)
	for !queried.Load() {
		if time.Now().After(deadline) {
			t.Fatal("the query never got in between records")
		}
		th.yieldToQueries()
	}
	th.queryMu.Unlock()
}
