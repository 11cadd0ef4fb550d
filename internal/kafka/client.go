package kafka

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/oauth"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
	"go.uber.org/zap"
)

// SASL configures SASL authentication.
type SASL struct {
	// Mechanism is PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or OAUTHBEARER.
	Mechanism          string
	Username, Password string
	// Token returns an OAUTHBEARER token; it is asked at each connection's authentication.
	Token func(ctx context.Context) (string, error)
}

// SASLMechanisms are the mechanisms SASL.Mechanism may name.
var SASLMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "OAUTHBEARER"}

// ClientConfig is what every client of an app shares.
type ClientConfig struct {
	Bootstrap []string
	ClientID  string
	TLS       *tls.Config
	SASL      *SASL
	Logger    *zap.Logger
	// GroupInstanceID, when set, makes each stream thread's consumer a static group member
	// (KIP-345) with group.instance.id <GroupInstanceID>-<thread index>: see instanceID.
	GroupInstanceID string
	// Opts are franz-go options for what rill does not configure itself, applied after
	// rill's own client options (so they may tune what rill only defaults: fetch sizes and
	// waits, linger, compression, max record bytes) and checked afterwards not to have changed
	// what rill relies on (checkOpts).
	Opts []kgo.Opt
}

func (c ClientConfig) opts() ([]kgo.Opt, error) {
	opts := []kgo.Opt{kgo.SeedBrokers(c.Bootstrap...), kgo.ClientID(c.ClientID)}
	if lvl := os.Getenv("RILL_KGO_LOG"); lvl != "" {
		// Debugging aid: franz-go's own log, on stderr (RILL_KGO_LOG=info or debug).
		level := kgo.LogLevelInfo
		if lvl == "debug" {
			level = kgo.LogLevelDebug
		}
		id := c.ClientID
		opts = append(opts, kgo.WithLogger(kgo.BasicLogger(os.Stderr, level, func() string { return id + " " })))
	}
	if c.TLS != nil {
		opts = append(opts, kgo.DialTLSConfig(c.TLS))
	}
	if c.SASL != nil {
		switch c.SASL.Mechanism {
		case "PLAIN":
			opts = append(opts, kgo.SASL(plain.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsMechanism()))
		case "SCRAM-SHA-256":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha256Mechanism()))
		case "SCRAM-SHA-512":
			opts = append(opts, kgo.SASL(scram.Auth{User: c.SASL.Username, Pass: c.SASL.Password}.AsSha512Mechanism()))
		case "OAUTHBEARER":
			if c.SASL.Token == nil {
				return nil, errors.New("rill: SASL OAUTHBEARER needs a Token function")
			}
			token := c.SASL.Token
			opts = append(opts, kgo.SASL(oauth.Oauth(func(ctx context.Context) (oauth.Auth, error) {
				t, err := token(ctx)
				return oauth.Auth{Token: t}, err
			})))
		default:
			return nil, fmt.Errorf("rill: unsupported SASL mechanism %q", c.SASL.Mechanism)
		}
	}
	// The user's options come after rill's client options in every client (admin, readers,
	// sessions); sessions apply them once more after their own (withUserOpts).
	return append(opts, c.Opts...), nil
}

// withUserOpts appends the user's options (ClientConfig.Opts) after a session's own, so that
// they win where both set one (fetch waits, linger, buffered records).
func (c ClientConfig) withUserOpts(opts []kgo.Opt) []kgo.Opt {
	return append(opts, c.Opts...)
}

// checkOpts refuses a client whose user options (ClientConfig.Opts) changed what the session
// relies on: the group, the topics, offset commits, transactions and read isolation.
func checkOpts(cl *kgo.Client, cfg SessionConfig) error {
	var bad []string
	if g, _ := cl.OptValue(kgo.ConsumerGroup).(string); g != cfg.Group {
		bad = append(bad, "ConsumerGroup")
	}
	if t, _ := cl.OptValue(kgo.TransactionalID).(string); t != cfg.TransactionalID {
		bad = append(bad, "TransactionalID")
	}
	if ac, _ := cl.OptValue(kgo.DisableAutoCommit).(bool); !ac {
		bad = append(bad, "DisableAutoCommit")
	}
	if b, _ := cl.OptValue(kgo.BlockRebalanceOnPoll).(bool); !b {
		bad = append(bad, "BlockRebalanceOnPoll")
	}
	if id, _ := cl.OptValue(kgo.InstanceID).(string); id != cfg.instanceID() {
		bad = append(bad, "InstanceID (use Config.GroupInstanceID)")
	}
	if len(bad) > 0 {
		return fmt.Errorf("rill: client options must not change %v: rill sets them", bad)
	}
	return nil
}
