// Command rill-reset resets a rill application so that it processes its input again from the
// start (or another point), as Kafka's kafka-streams-application-reset does for Kafka Streams:
//
//   - the committed offsets of the application's consumer group (its application id) on the
//     given input topics are set to the earliest offsets, the latest, the first at or after a
//     time, or shifted by a number of records;
//   - the application's internal topics — <application id>-...-changelog, -repartition and
//     the foreign-key join's subscription topics, found by name as Kafka's tool finds them —
//     are deleted, with the group's committed offsets on them, so the next run recreates them
//     empty;
//   - it refuses while the group has members: stop every instance first (a static member,
//     Config.GroupInstanceID, stays a member for its session timeout after it stops).
//
// Local state is not touched: call App.CleanUp on each instance (or delete its
// <StateDir>/<application id>) before it runs again, as with Kafka Streams' cleanUp(). rill
// also wipes and restores local state whose changelog is gone, so a forgotten CleanUp costs
// a restore rather than wrong results.
//
// # Usage
//
//	rill-reset --bootstrap localhost:9092 --application-id counts --input-topics orders,payments --dry-run
//	rill-reset --bootstrap localhost:9092 --application-id counts --input-topics orders             # to earliest
//	rill-reset ... --to-latest | --to-datetime 2026-12-01T00:00:00Z | --shift-by -1000
//	rill-reset ... --sasl-mechanism SCRAM-SHA-512 --sasl-username u --sasl-password p --tls
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/sasl/plain"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "rill-reset:", err)
		os.Exit(1)
	}
}

// run parses args and resets; what it does (or would do, with --dry-run) goes to out.
func run(ctx context.Context, args []string, out io.Writer) error {
	fs := flag.NewFlagSet("rill-reset", flag.ContinueOnError)
	fs.SetOutput(out)
	bootstrap := fs.String("bootstrap", "localhost:9092", "comma-separated broker addresses")
	appID := fs.String("application-id", "", "the application id (its consumer group and internal topic prefix); required")
	inputs := fs.String("input-topics", "", "comma-separated input topics whose committed offsets are reset")
	toLatest := fs.Bool("to-latest", false, "reset input offsets to the end (skip everything there now)")
	toEarliest := fs.Bool("to-earliest", false, "reset input offsets to the start (the default)")
	toDatetime := fs.String("to-datetime", "", "reset input offsets to the first record at or after this RFC 3339 time")
	shiftBy := fs.Int64("shift-by", 0, "shift the committed input offsets by this many records (negative: back), within the log")
	dryRun := fs.Bool("dry-run", false, "print what would be done, change nothing")
	timeout := fs.Duration("timeout", time.Minute, "bound on the whole reset")
	useTLS := fs.Bool("tls", false, "connect with TLS")
	mech := fs.String("sasl-mechanism", "", "PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512")
	user := fs.String("sasl-username", "", "SASL user")
	pass := fs.String("sasl-password", "", "SASL password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if *appID == "" {
		return errors.New("--application-id is required")
	}
	plan := Options{ApplicationID: *appID, DryRun: *dryRun, Mode: ToEarliest}
	if *inputs != "" {
		plan.InputTopics = strings.Split(*inputs, ",")
	}
	modes := 0
	if *toEarliest {
		modes++
	}
	if *toLatest {
		modes++
		plan.Mode = ToLatest
	}
	if *toDatetime != "" {
		modes++
		ts, err := time.Parse(time.RFC3339, *toDatetime)
		if err != nil {
			return fmt.Errorf("--to-datetime: %w", err)
		}
		plan.Mode, plan.Time = ToTime, ts
	}
	if *shiftBy != 0 {
		modes++
		plan.Mode, plan.Shift = ShiftBy, *shiftBy
	}
	if modes > 1 {
		return errors.New("choose one of --to-earliest, --to-latest, --to-datetime, --shift-by")
	}
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(*bootstrap, ",")...), kgo.ClientID("rill-reset")}
	if *useTLS {
		opts = append(opts, kgo.DialTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}))
	}
	switch *mech {
	case "":
	case "PLAIN":
		opts = append(opts, kgo.SASL(plain.Auth{User: *user, Pass: *pass}.AsMechanism()))
	case "SCRAM-SHA-256":
		opts = append(opts, kgo.SASL(scram.Auth{User: *user, Pass: *pass}.AsSha256Mechanism()))
	case "SCRAM-SHA-512":
		opts = append(opts, kgo.SASL(scram.Auth{User: *user, Pass: *pass}.AsSha512Mechanism()))
	default:
		return fmt.Errorf("--sasl-mechanism %q: want PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512", *mech)
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	return Reset(ctx, cl, plan, out)
}
