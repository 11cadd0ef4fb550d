package runtime

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"go.uber.org/zap"
)

// Pattern sources. Kafka Streams subscribes with the pattern and adds matching topics as
// they appear, rebalancing to make their tasks. rill resolves each pattern once, when the app
// starts, against the topics that exist then, and from there on treats the matched topics as
// if the source had named them: they are subscribed to by name, and task <s>_<p> reads
// partition p of every topic of sub-topology s, so the topics a sub-topology's patterns (and
// named sources) match must have the same partition count (checkCopartitioning). A topic
// created later that matches is read only after a restart of the app's instances (a warning
// says so, watchPatterns): picking it up while running would need every member to agree on
// the new task topics in a rebalance, which the task balancer does not do yet.

// patternSource is a source node reading the topics that match a pattern.
type patternSource struct {
	sub  int
	node string
	re   *regexp.Regexp
}

// resolvePatterns lists the cluster's topics and adds the ones each pattern source matches to
// its sub-topology's topics. A pattern matching no topic, or a topic that another source
// (named or pattern) already reads, is an error: Kafka Streams refuses the second as a
// TopologyException, and a source with no topic would leave its sub-topology without tasks.
func (r *Runtime) resolvePatterns(ctx context.Context) error {
	if len(r.patterns) == 0 {
		return nil
	}
	var errs []error
	for _, p := range r.patterns {
		topics, err := r.admin.MatchingTopics(ctx, p.re)
		if err != nil {
			return fmt.Errorf("rill: source %s: list topics matching %q: %w", p.node, p.re, err)
		}
		if len(topics) == 0 {
			errs = append(errs, fmt.Errorf("rill: source %s: no topic matches %q (topics created later are read after a restart)", p.node, p.re))
			continue
		}
		for _, t := range topics {
			if sub, ok := r.topicSub[t]; ok {
				errs = append(errs, fmt.Errorf("rill: source %s: topic %s matches %q but is already read by sub-topology %d", p.node, t, p.re, sub))
				continue
			}
			r.topicSub[t] = p.sub
			r.taskTopics[p.sub] = append(r.taskTopics[p.sub], t)
			r.sourceTopics = append(r.sourceTopics, t)
			r.patternTopics[p.node] = append(r.patternTopics[p.node], t)
		}
		r.cfg.Logger.Info("rill: pattern source resolved", zap.String("source", p.node),
			zap.Stringer("pattern", p.re), zap.Strings("topics", topics))
	}
	sort.Strings(r.sourceTopics)
	return errors.Join(errs...)
}

// resolvedTopics returns the topics a source node reads: those it names, and those its pattern
// matched at start.
func (r *Runtime) resolvedTopics(node string, named []string) []string {
	if ts := r.patternTopics[node]; len(ts) > 0 {
		return slices.Concat(named, ts)
	}
	return named
}

// patternNote names the patterns of sub-topology sub, for errors about its topics.
func (r *Runtime) patternNote(sub int) string {
	var res []string
	for _, p := range r.patterns {
		if p.sub == sub {
			res = append(res, fmt.Sprintf("%q", p.re))
		}
	}
	if len(res) == 0 {
		return ""
	}
	return ": every topic matching " + strings.Join(res, " or ") + " must have the same partition count"
}

// watchPatterns warns, once per topic, of topics created since the start that a pattern
// source matches: they are not read until the app restarts, and a silent miss would look like
// lost input. It returns when ctx is done.
func (r *Runtime) watchPatterns(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	warned := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		for _, p := range r.patterns {
			topics, err := r.admin.MatchingTopics(ctx, p.re)
			if err != nil {
				continue // the next tick tries again; the app does not depend on this
			}
			for _, t := range topics {
				if _, ok := r.topicSub[t]; ok || warned[t] {
					continue
				}
				warned[t] = true
				r.cfg.Logger.Warn("rill: a topic created since the start matches a pattern source; it is read after the app restarts",
					zap.String("topic", t), zap.String("source", p.node), zap.Stringer("pattern", p.re))
			}
		}
	}
}
