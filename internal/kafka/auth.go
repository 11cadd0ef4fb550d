package kafka

import (
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// authWatch tells authentication failures from other connection failures. A broker that
// refuses SASL credentials either answers SaslAuthenticate with SASL_AUTHENTICATION_FAILED
// (Kafka) or closes the connection on it (kfake, and Kafka before KIP-152); franz-go then
// reports the failed request with that error or with a bare EOF, which says nothing about the
// credentials. The hook sees every response read with its request key: a SaslAuthenticate
// whose read failed is the credentials' fault.
type authWatch struct {
	failed atomic.Pointer[error]
}

var _ kgo.HookBrokerRead = (*authWatch)(nil)

// OnBrokerRead is kgo.HookBrokerRead.
func (w *authWatch) OnBrokerRead(_ kgo.BrokerMetadata, key int16, _ int, _, _ time.Duration, err error) {
	if err != nil && key == int16(kmsg.SASLAuthenticate) {
		w.failed.Store(&err)
	}
}

// explain makes err match ErrAuthentication when it comes from refused credentials.
func (w *authWatch) explain(err error) error {
	if err == nil || errors.Is(err, ErrAuthentication) {
		return err
	}
	if errors.Is(err, kerr.SaslAuthenticationFailed) {
		return fmt.Errorf("%w: %w", ErrAuthentication, err)
	}
	if w != nil {
		if p := w.failed.Load(); p != nil {
			return fmt.Errorf("%w (the brokers dropped the connection on the SASL credentials: %v): %w", ErrAuthentication, *p, err)
		}
	}
	return err
}
