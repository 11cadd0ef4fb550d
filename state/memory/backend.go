package memory

import "github.com/rillstreams/rill/state"

// Backend returns the in-memory state.Backend. It ignores dirs: its stores keep nothing on
// disk and are rebuilt from their changelogs when a task starts.
func Backend() state.Backend { return backend{} }

type backend struct{}

func (backend) Name() string { return "memory" }

func (backend) KeyValue(name, _ string) (state.KeyValueBytesStore, error) {
	return NewKeyValueStore(name), nil
}

func (backend) Window(name, _ string, opts state.WindowOptions) (state.WindowBytesStore, error) {
	return NewWindowStore(name, opts)
}

func (backend) Session(name, _ string, opts state.WindowOptions) (state.SessionBytesStore, error) {
	return NewSessionStore(name, opts)
}
