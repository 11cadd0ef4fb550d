// Package topoaccess lets the runtime and the test driver read what a sealed topology compiles
// to (its sub-topologies, the task engine's input) without package topology exporting an
// internal type to users.
//
// # Usage
//
//	for _, sub := range topoaccess.Subtopologies(topo) { // topo: a sealed *topology.Topology
//		task, err := engine.New(engine.Config{Topology: sub, ...})
//	}
//
// Package topology registers the accessor from its init. This package cannot import topology
// (topology imports it), so the topology travels as any; anything else panics.
package topoaccess

import "github.com/rillstreams/rill/internal/engine"

var subtopologies func(topo any) []*engine.Subtopology

// Register installs package topology's accessor; topology's init calls it once.
func Register(f func(topo any) []*engine.Subtopology) { subtopologies = f }

// Subtopologies returns the sub-topologies of topo, a *topology.Topology, in id order; nil
// when it is nil or not sealed.
func Subtopologies(topo any) []*engine.Subtopology { return subtopologies(topo) }
