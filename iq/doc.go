// Package iq serves a rill App's state stores over HTTP as JSON, and routes queries to the
// instance that holds a key: the interactive-queries layer a service builds its REST API on
// (Kafka Streams leaves this "RPC layer" to the user; rill ships a small one on net/http).
//
// Each instance runs an App with Config.ApplicationServer set to the host:port its Handler
// listens on. A key lookup asked of any instance is answered by the one running the key's
// task: the Handler answers keys it holds, and tells the client where the others are (421
// with the owner's host); the Client follows, remembers the owner, and retries while a store
// migrates (503) until its context ends.
//
// Routes (all GET, JSON):
//
//	/v1/metadata                         every instance: host, stores, active and standby tasks
//	/v1/stores/{store}/metadata/{key}    where key lives: active host, standbys, partition
//	/v1/stores/{store}/keys/{key}        key-value: one row (404 when absent)
//	/v1/stores/{store}/all               key-value: this instance's rows (?limit=, ?partition=)
//	/v1/stores/{store}/range?from=&to=   key-value: rows in a key range, this instance's
//	/v1/stores/{store}/prefix/{prefix}   key-value: rows whose key starts with prefix, this instance's
//	/v1/stores/{store}/windows/{key}     window: key's windows (?from=&to= in ms, default all)
//	/v1/stores/{store}/sessions/{key}    session: key's sessions
//
// Every store route takes ?stale=true to admit standby replicas (rill.EnableStaleStores).
// Errors are {"error": "...", "retriable": bool, "active": "host:port"} with 503 for
// retriable ones (migrating, not running), 421 for a key held elsewhere, 404 for an unknown
// store or absent key, 400 for a bad key.
//
// # Usage
//
//	app, _ := rill.New(topo, rill.Config{..., ApplicationServer: "10.0.0.7:8080"})
//	h := iq.NewHandler(app,
//		iq.KeyValue(rill.KeyValueStore(app, "counts", serde.String(), serde.Int64()), iq.StringKey))
//	go http.ListenAndServe(":8080", h)
//	go app.Run(ctx)
//
//	// Anywhere (another instance, another service):
//	c := iq.NewClient([]string{"10.0.0.7:8080", "10.0.0.8:8080"})
//	var row rill.KeyValue[string, int64]
//	err := c.Get(ctx, "counts", "alice", &row) // routed to alice's owner; iq.ErrNotFound if absent
package iq
