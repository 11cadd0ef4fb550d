package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Mode is where the input offsets go.
type Mode int

const (
	ToEarliest Mode = iota // the log start: everything is processed again
	ToLatest               // the log end: nothing there now is processed
	ToTime                 // the first record at or after Options.Time
	ShiftBy                // the committed offset plus Options.Shift, within the log
)

// Options is one reset.
type Options struct {
	ApplicationID string
	InputTopics   []string
	Mode          Mode
	Time          time.Time
	Shift         int64
	DryRun        bool
}

// internalTopic matches the names of a rill application's internal topics after the
// "<application id>-" prefix, as Kafka's StreamsResetter tells Kafka Streams' internal topics:
// store changelogs, repartition topics, and the foreign-key join's subscription topics
// (named or generated).
var internalTopic = regexp.MustCompile(`(-changelog|-repartition|-subscription-registration-topic|-subscription-response-topic|-KTABLE-FK-JOIN-SUBSCRIPTION-(REGISTRATION|RESPONSE)-\d+-topic)$`)

// isInternal tells whether topic is one of app's internal topics.
func isInternal(app, topic string) bool {
	rest, ok := strings.CutPrefix(topic, app+"-")
	return ok && rest != "" && internalTopic.MatchString(topic)
}

// Reset resets the application's group offsets on its input topics and deletes its internal
// topics (see the package comment), printing each step to out; with DryRun it only prints.
func Reset(ctx context.Context, cl *kgo.Client, o Options, out io.Writer) error {
	adm := kadm.NewClient(cl)
	group := o.ApplicationID
	groups, err := adm.DescribeGroups(ctx, group)
	if err != nil {
		return fmt.Errorf("describe group %s: %w", group, err)
	}
	if g, ok := groups[group]; ok {
		if g.Err != nil && !errors.Is(g.Err, kerr.GroupIDNotFound) {
			return fmt.Errorf("describe group %s: %w", group, g.Err)
		}
		if len(g.Members) > 0 {
			var ids []string
			for _, m := range g.Members {
				id := m.MemberID
				if m.InstanceID != nil {
					id = *m.InstanceID + " (static)"
				}
				ids = append(ids, id+" on "+m.ClientHost)
			}
			return fmt.Errorf("group %s has %d active members (%s): stop every instance of the application first; "+
				"a static member stays one until its session timeout passes", group, len(g.Members), strings.Join(ids, ", "))
		}
	}

	offsets, err := targetOffsets(ctx, adm, group, o)
	if err != nil {
		return err
	}
	all, err := adm.ListTopics(ctx)
	if err != nil {
		return fmt.Errorf("list topics: %w", err)
	}
	var internal []string
	for _, t := range all.Names() {
		if isInternal(o.ApplicationID, t) {
			internal = append(internal, t)
		}
	}
	sort.Strings(internal)
	committed, err := adm.FetchOffsets(ctx, group)
	if err != nil {
		return fmt.Errorf("fetch offsets of group %s: %w", group, err)
	}
	internalOffsets := kadm.TopicsSet{}
	committed.Each(func(r kadm.OffsetResponse) {
		if slices.Contains(internal, r.Topic) {
			internalOffsets.Add(r.Topic, r.Partition)
		}
	})

	prefix := ""
	if o.DryRun {
		prefix = "(dry run) "
	}
	for _, off := range offsets.Sorted() {
		was := "none"
		if c, ok := committed.Lookup(off.Topic, off.Partition); ok && c.Err == nil {
			was = fmt.Sprint(c.At)
		}
		fmt.Fprintf(out, "%sreset offset of %s %s[%d]: %s -> %d\n", prefix, group, off.Topic, off.Partition, was, off.At)
	}
	for _, t := range internal {
		fmt.Fprintf(out, "%sdelete internal topic %s\n", prefix, t)
	}
	if len(internal) == 0 {
		fmt.Fprintf(out, "%sno internal topics of %s found\n", prefix, o.ApplicationID)
	}
	if o.DryRun {
		fmt.Fprintln(out, "dry run: nothing changed")
		return nil
	}

	if len(offsets) > 0 {
		resp, err := adm.CommitOffsets(ctx, group, offsets)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("commit offsets of group %s: %w", group, err)
		}
	}
	if len(internalOffsets) > 0 {
		// A recreated repartition topic starts at offset 0; offsets left committed on the old
		// one would point past its end.
		resp, err := adm.DeleteOffsets(ctx, group, internalOffsets)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("delete group %s's offsets on internal topics: %w", group, err)
		}
	}
	if len(internal) > 0 {
		resp, err := adm.DeleteTopics(ctx, internal...)
		if err == nil {
			err = resp.Error()
		}
		if err != nil {
			return fmt.Errorf("delete internal topics: %w", err)
		}
	}
	fmt.Fprintf(out, "reset %s: %d input partitions, %d internal topics deleted; clean each instance's local state (App.CleanUp) before it runs again\n",
		o.ApplicationID, countOffsets(offsets), len(internal))
	return nil
}

// targetOffsets computes the new committed offset of every partition of the input topics.
func targetOffsets(ctx context.Context, adm *kadm.Client, group string, o Options) (kadm.Offsets, error) {
	if len(o.InputTopics) == 0 {
		return nil, nil
	}
	start, err := adm.ListStartOffsets(ctx, o.InputTopics...)
	if err == nil {
		err = start.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list start offsets of %v: %w", o.InputTopics, err)
	}
	for _, t := range o.InputTopics {
		if len(start[t]) == 0 {
			return nil, fmt.Errorf("input topic %s does not exist", t)
		}
	}
	end, err := adm.ListEndOffsets(ctx, o.InputTopics...)
	if err == nil {
		err = end.Error()
	}
	if err != nil {
		return nil, fmt.Errorf("list end offsets of %v: %w", o.InputTopics, err)
	}
	var at kadm.ListedOffsets
	var committed kadm.OffsetResponses
	switch o.Mode {
	case ToTime:
		at, err = adm.ListOffsetsAfterMilli(ctx, o.Time.UnixMilli(), o.InputTopics...)
		if err == nil {
			err = at.Error()
		}
	case ShiftBy:
		committed, err = adm.FetchOffsets(ctx, group)
	}
	if err != nil {
		return nil, fmt.Errorf("list offsets: %w", err)
	}
	var offsets kadm.Offsets
	start.Each(func(s kadm.ListedOffset) {
		e, _ := end.Lookup(s.Topic, s.Partition)
		target := s.Offset
		switch o.Mode {
		case ToLatest:
			target = e.Offset
		case ToTime:
			if a, ok := at.Lookup(s.Topic, s.Partition); ok && a.Offset >= 0 {
				target = a.Offset
			} else {
				target = e.Offset
			}
		case ShiftBy:
			if c, ok := committed.Lookup(s.Topic, s.Partition); ok && c.Err == nil && c.At >= 0 {
				target = c.At + o.Shift
			}
			target = min(max(target, s.Offset), e.Offset)
		}
		offsets.AddOffset(s.Topic, s.Partition, target, -1)
	})
	return offsets, nil
}

func countOffsets(o kadm.Offsets) int {
	n := 0
	for _, ps := range o {
		n += len(ps)
	}
	return n
}
