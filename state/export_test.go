package state

// ExpireCached makes a cached window or session store apply its retention to what its cache
// holds too, so that it keeps the contract of an uncached store (the conformance suites);
// stores built for tasks return what the cache holds, as Kafka Streams' caching stores do.
func ExpireCached(s any) {
	switch c := s.(type) {
	case *cachingWindow:
		c.expireCached = true
	case *cachingSession:
		c.expireCached = true
	}
}
