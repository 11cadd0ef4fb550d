package changelog_test

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rillstreams/rill/changelog"
)

// A tool reading how far a stopped instance's task 1_3 has its "counts" store restored.
func Example_readTaskCheckpoint() {
	stateDir, err := os.MkdirTemp("", "rill-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(stateDir)
	dir := filepath.Join(stateDir, "orders-app", "1_3")
	tp := changelog.TopicPartition{Topic: changelog.TopicName("orders-app", "counts"), Partition: 3}
	// What the App wrote at its last commit.
	if err := changelog.WriteCheckpoint(dir, changelog.Checkpoint{tp: 1042}); err != nil {
		panic(err)
	}

	cp, err := changelog.ReadCheckpoint(dir)
	if err != nil {
		panic(err)
	}
	if next, ok := cp[tp]; ok {
		fmt.Printf("%s-%d: local store holds records below offset %d\n", tp.Topic, tp.Partition, next)
	}
	missing, err := changelog.ReadCheckpoint(filepath.Join(stateDir, "orders-app", "0_0"))
	fmt.Println(len(missing), err)
	// Output:
	// orders-app-counts-changelog-3: local store holds records below offset 1042
	// 0 <nil>
}
