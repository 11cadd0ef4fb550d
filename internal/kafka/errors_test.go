package kafka

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

func TestIsFatalProduceError(t *testing.T) {
	for _, tc := range []struct {
		err   error
		fatal bool
	}{
		{kerr.MessageTooLarge, false},
		{fmt.Errorf("%w (uncompressed_bytes=2000)", kerr.MessageTooLarge), false},
		{kerr.InvalidRecord, false},
		{kerr.PolicyViolation, false},
		{kgo.ErrRecordTimeout, false},
		{kgo.ErrRecordRetries, false},
		{kerr.TopicAuthorizationFailed, true},
		{kerr.ProducerFenced, true},
		{fmt.Errorf("unable to initialize a producer ID: %w", kerr.InvalidProducerEpoch), true},
		{kerr.UnknownServerError, true},
		{kgo.ErrClientClosed, true},
		{context.Canceled, true},
		{errors.New("anything else"), false},
	} {
		if got := IsFatalProduceError(tc.err); got != tc.fatal {
			t.Errorf("IsFatalProduceError(%v) = %v, want %v", tc.err, got, tc.fatal)
		}
	}
}

func TestIsFatalPollError(t *testing.T) {
	wrapped := fmt.Errorf("rill: fetch : unable to join group session: %w", kerr.InvalidSessionTimeout)
	if !IsFatalPollError(wrapped) {
		t.Error("a refused session timeout must stop the thread")
	}
	for _, err := range []error{nil, kerr.NotCoordinator, kerr.RebalanceInProgress, context.DeadlineExceeded} {
		if IsFatalPollError(err) {
			t.Errorf("%v is retried, not fatal", err)
		}
	}
}

func TestIsBrokerUnavailable(t *testing.T) {
	refused := fmt.Errorf("unable to dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	for _, c := range []struct {
		err  error
		want bool
	}{
		{refused, true},
		{fmt.Errorf("commit: %w", io.EOF), true},
		{kerr.CoordinatorNotAvailable, true},
		{fmt.Errorf("end txn: %w", kerr.NotCoordinator), true},
		{kerr.ProducerFenced, false},
		{kerr.InvalidProducerEpoch, false},
		{kerr.TopicAuthorizationFailed, false},
		{context.Canceled, false},
		{errors.New("some other failure"), false},
		{nil, false},
	} {
		if got := IsBrokerUnavailable(c.err); got != c.want {
			t.Errorf("IsBrokerUnavailable(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
