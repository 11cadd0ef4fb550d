package main

import (
	"errors"
	"net/http"

	"github.com/rillstreams/rill"
	"github.com/twmb/franz-go/pkg/kgo"
)

// mountQueries wires the services' HTTP handlers to their stores. (Interactive queries: pending
// the iq package.)
func mountQueries(mux *http.ServeMux, apps map[string]*rill.App, producer *kgo.Client) error {
	return errors.New("interactive queries not wired yet")
}
