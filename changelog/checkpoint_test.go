package changelog

import (
	"os"
	"path/filepath"
	"testing"
)

func TestCheckpointRoundTripAndFormat(t *testing.T) {
	dir := t.TempDir()
	cp := Checkpoint{{"app-b-changelog", 1}: 42, {"app-a-changelog", 0}: UnknownOffset}
	if err := WriteCheckpoint(dir, cp); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, FileName))
	want := "0\n2\napp-a-changelog 0 -4\napp-b-changelog 1 42\n"
	if string(raw) != want {
		t.Errorf("file %q, want Kafka Streams' format %q", raw, want)
	}
	got, err := ReadCheckpoint(dir)
	if err != nil || len(got) != 2 || got[TopicPartition{"app-b-changelog", 1}] != 42 {
		t.Fatalf("read %v, %v", got, err)
	}
	if err := RemoveCheckpoint(dir); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadCheckpoint(dir); err != nil || len(got) != 0 {
		t.Fatalf("after remove: %v, %v", got, err)
	}
}

func TestCheckpointRejectsGarbage(t *testing.T) {
	for _, content := range []string{"1\n0\n", "0\nx\n", "0\n2\nt 0 1\n", "0\n1\nt zero 1\n"} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, FileName), []byte(content), 0o644)
		if _, err := ReadCheckpoint(dir); err == nil {
			t.Errorf("%q: no error", content)
		}
	}
}
