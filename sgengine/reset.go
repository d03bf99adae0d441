package sgengine

// Reset empties the table, keeping its memory, so that a caller that follows many single
// synthetic packets on scratch tables (the static reachability analysis) need not allocate a
// table per packet. It must not run concurrently with any other use of the table, so it takes
// no locks. The allowance-exceeded counter is kept.
func (ct *Conntrack) Reset() {
	if ct.count.Load() == 0 {
		return
	}
	for i := range ct.shards {
		s := &ct.shards[i]
		if s.used > 0 {
			clear(s.slots)
		}
		s.used, s.cursor = 0, 0
	}
	ct.count.Store(0)
	ct.nextSweep.Store(0)
}
