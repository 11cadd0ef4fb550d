package kafka

import (
	"context"
	"errors"
	"io"
	"net"
	"syscall"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// ErrAuthentication is what a client whose SASL credentials the brokers refused fails with.
var ErrAuthentication = errors.New("rill: SASL authentication failed")

// fatalProduceErrors are failed sends that say nothing about the record and everything about
// the client: no security, a producer fenced or out of sequence, a broken transaction.
// Kafka Streams' RecordCollectorImpl never asks the production handler about these (its
// isFatalException and its fenced-producer branch); skipping the record would hide that
// every following record fails too.
var fatalProduceErrors = []error{
	kerr.TopicAuthorizationFailed, kerr.ClusterAuthorizationFailed, kerr.GroupAuthorizationFailed,
	kerr.TransactionalIDAuthorizationFailed, kerr.DelegationTokenAuthorizationFailed,
	kerr.SaslAuthenticationFailed, kerr.SecurityDisabled,
	kerr.InvalidTopicException, kerr.UnknownServerError, kerr.OffsetMetadataTooLarge,
	kerr.ProducerFenced, kerr.InvalidProducerEpoch, kerr.InvalidProducerIDMapping,
	kerr.OutOfOrderSequenceNumber, kerr.UnknownProducerID, kerr.InvalidTxnState, kerr.TransactionAbortable,
	// The client closing or aborting its buffer: the thread is stopping or the transaction
	// is being abandoned, not the record rejected.
	kgo.ErrClientClosed, kgo.ErrAborting, context.Canceled, context.DeadlineExceeded,
}

// IsFatalProduceError tells whether a failed send (the error given to Produce's done) must
// fail the stream thread rather than go to the production handler. What is left for the
// handler is what the broker or the client held against the record itself: too large
// (kerr.MessageTooLarge), invalid (kerr.InvalidRecord, kerr.CorruptMessage), refused by a
// policy, or not delivered within the retries and timeout.
func IsFatalProduceError(err error) bool {
	for _, f := range fatalProduceErrors {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// fatalPollErrors are errors of the group or the fetches that retrying cannot cure: the
// configuration or the credentials are wrong. franz-go keeps retrying them (and a thread that
// only logged them would sit in the group's doorway for ever, processing nothing).
var fatalPollErrors = []error{
	kerr.InvalidSessionTimeout, kerr.GroupAuthorizationFailed, kerr.TopicAuthorizationFailed,
	kerr.ClusterAuthorizationFailed, kerr.SaslAuthenticationFailed, kerr.InconsistentGroupProtocol,
	kerr.GroupMaxSizeReached,
}

// IsFatalPollError tells whether an error Poll returned must stop the stream thread.
func IsFatalPollError(err error) bool {
	for _, f := range fatalPollErrors {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// taskMigratedErrors say that this thread's producer lost its standing, not that anything is
// wrong with the app: a broker crash lost the producer's state (UNKNOWN_PRODUCER_ID), the
// transaction coordinator bumped its epoch (INVALID_PRODUCER_EPOCH after a transaction timed
// out), or a newer incarnation with the same transactional id fenced it. Kafka Streams turns
// them into TaskMigratedException: the tasks close dirty, the producer is re-initialized, the
// thread rejoins the group and carries on exactly-once. INVALID_TXN_STATE on ending a
// transaction says the coordinator holds none open for the producer: it aborted it on its
// own (the embedded broker answers so after a transaction timeout, where Kafka bumps the
// epoch); rill-torture on the embedded broker had an instance die of "commit:
// INVALID_TXN_STATE" under load. Whatever became of the transaction, closing the tasks dirty
// and going on from the committed offsets is right.
var taskMigratedErrors = []error{kerr.ProducerFenced, kerr.InvalidProducerEpoch, kerr.UnknownProducerID,
	kerr.InvalidProducerIDMapping, kerr.TransactionAbortable, kerr.InvalidTxnState}

// IsTaskMigrated tells whether an error of the stream thread calls for closing its tasks dirty,
// a new producer and a rejoin rather than stopping.
func IsTaskMigrated(err error) bool {
	if IsGroupLeft(err) {
		return true
	}
	for _, f := range taskMigratedErrors {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// groupLeftErrors are a group coordinator's answers to an offset commit from a member it no
// longer counts in the current generation: the member's session timed out (a loaded host, a
// long pause), or the group rebalanced under the commit. The commit is lost and the member's
// partitions may already be someone else's; Kafka Streams turns the CommitFailedException
// into TaskMigratedException: close the tasks dirty and rejoin.
var groupLeftErrors = []error{kerr.UnknownMemberID, kerr.IllegalGeneration, kerr.RebalanceInProgress}

// IsGroupLeft tells whether err is an offset commit refused because the member is not (or no
// longer) in the group's current generation. It is a task migration (IsTaskMigrated), but
// says nothing against the producer: it does not count as a fencing.
func IsGroupLeft(err error) bool {
	for _, f := range groupLeftErrors {
		if errors.Is(err, f) {
			return true
		}
	}
	return false
}

// IsBrokerUnavailable tells whether err says the brokers could not be reached or did not
// answer for now (a refused or dropped connection, a coordinator moving or loading), rather
// than anything about the request: asked again a little later, the same request may succeed.
func IsBrokerUnavailable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) {
		return false
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
		return true
	}
	for _, e := range []error{kerr.CoordinatorNotAvailable, kerr.NotCoordinator, kerr.CoordinatorLoadInProgress,
		kerr.NotLeaderForPartition, kerr.LeaderNotAvailable, kerr.RequestTimedOut, kerr.NetworkException,
		kerr.BrokerNotAvailable, kerr.ConcurrentTransactions} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}
