package changelog

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// FileName is the checkpoint file in a task directory.
const FileName = ".checkpoint"

// UnknownOffset marks a changelog partition whose offset is not known (Kafka Streams' -4).
const UnknownOffset int64 = -4

// TopicPartition names one changelog partition.
type TopicPartition struct {
	Topic     string
	Partition int32
}

// Checkpoint maps changelog partitions to the offset of the next record to restore from.
type Checkpoint map[TopicPartition]int64

// TopicName is the changelog topic of a store: "<application id>-<store>-changelog".
func TopicName(applicationID, store string) string {
	return applicationID + "-" + store + "-changelog"
}

// ReadCheckpoint reads dir's checkpoint file; a missing file is an empty checkpoint.
//
// The format is Kafka Streams' OffsetCheckpoint: a version line "0", a line with the number of
// entries, then "topic partition offset" per line.
func ReadCheckpoint(dir string) (Checkpoint, error) {
	f, err := os.Open(filepath.Join(dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return Checkpoint{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	line := func() (string, bool) {
		if !sc.Scan() {
			return "", false
		}
		return strings.TrimSpace(sc.Text()), true
	}
	bad := func(why string) error { return fmt.Errorf("rill: checkpoint %s: %s", f.Name(), why) }
	v, ok := line()
	if !ok || v != "0" {
		return nil, bad("unsupported version " + strconv.Quote(v))
	}
	ns, ok := line()
	n, err := strconv.Atoi(ns)
	if !ok || err != nil || n < 0 {
		return nil, bad("bad entry count " + strconv.Quote(ns))
	}
	// The count comes from the file: it sizes the map only up to what a file of sane size
	// holds, so that a corrupt count cannot ask for gigabytes.
	cp := make(Checkpoint, min(n, 1024))
	for i := 0; i < n; i++ {
		l, ok := line()
		fields := strings.Fields(l)
		if !ok || len(fields) != 3 {
			return nil, bad(fmt.Sprintf("entry %d: %q", i, l))
		}
		p, err1 := strconv.ParseInt(fields[1], 10, 32)
		o, err2 := strconv.ParseInt(fields[2], 10, 64)
		if err1 != nil || err2 != nil {
			return nil, bad(fmt.Sprintf("entry %d: %q", i, l))
		}
		tp := TopicPartition{fields[0], int32(p)}
		if _, dup := cp[tp]; dup {
			// Kafka Streams rejects a file whose entries are fewer than its count.
			return nil, bad(fmt.Sprintf("entry %d: %s %d listed twice", i, tp.Topic, tp.Partition))
		}
		cp[tp] = o
	}
	// Kafka Streams reads entries to the end of the file and rejects one with more than its
	// count: a line after them means the file is not what WriteCheckpoint wrote.
	if l, ok := line(); ok {
		return nil, bad(fmt.Sprintf("more entries than the count %d: %q", n, l))
	}
	if err := sc.Err(); err != nil {
		return nil, bad(err.Error())
	}
	return cp, nil
}

// WriteCheckpoint replaces dir's checkpoint file atomically (write to a temporary file, sync,
// rename), so a crash leaves the old checkpoint or the new one, never half of one. The file is
// owner-only (0600), and so is dir when it has to be created (0700), as Kafka Streams' state.
func WriteCheckpoint(dir string, cp Checkpoint) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tps := make([]TopicPartition, 0, len(cp))
	for tp := range cp {
		tps = append(tps, tp)
	}
	sort.Slice(tps, func(i, j int) bool {
		if tps[i].Topic != tps[j].Topic {
			return tps[i].Topic < tps[j].Topic
		}
		return tps[i].Partition < tps[j].Partition
	})
	var sb strings.Builder
	fmt.Fprintf(&sb, "0\n%d\n", len(tps))
	for _, tp := range tps {
		fmt.Fprintf(&sb, "%s %d %d\n", tp.Topic, tp.Partition, cp[tp])
	}
	tmp := filepath.Join(dir, FileName+".tmp")
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	if err := f.Chmod(0o600); err != nil { // a leftover temporary file of an older version
		f.Close()
		return err
	}
	if _, err := f.WriteString(sb.String()); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, FileName))
}

// RemoveCheckpoint deletes dir's checkpoint file: under exactly-once a running task has none,
// so that a crash means its stores cannot be trusted.
func RemoveCheckpoint(dir string) error {
	err := os.Remove(filepath.Join(dir, FileName))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}
