package natgw

// Expiry runs on a timing wheel per shard. Every entry is filed in the bucket of its deadline
// as it was when the entry was filed; buckets are Table.gran wide and the wheel has
// wheelSlots of them, more than the longest timeout spans. A refresh only moves a deadline
// later, so it leaves the entry where it is and costs nothing; when the wheel reaches the
// bucket, the entry is removed if it expired and filed again further on if not. A TCP close,
// which moves the deadline earlier, files the entry again at once.
//
// So every entry whose deadline has passed sits in a bucket from the first one not processed
// yet (done) to the bucket of now, usually one or two buckets. That is what lets an evaluation
// count exactly how many of a destination's mappings are still live, without looking at the
// others: see expiredAtLocked.

const (
	// wheelSlots is the number of buckets. Timeouts span at most half of them (see New), so
	// that an entry filed while the wheel lags behind the clock seldom lands in a slot that
	// still holds entries of the previous turn.
	wheelSlots = 512
	noBucket   = -1 << 63 // wheel.done before the first entry
	maxBudget  = 1<<31 - 1
)

type wheel struct {
	heads [wheelSlots]int32 // first entry of each slot: slab index plus one, 0 for none
	// done is the first bucket not processed yet: every bucket before it has been emptied
	// of expired entries.
	done int64
	// While bucket done is being processed (inSlot), cur is the next entry to examine, so
	// that a pass cut short by its budget resumes there and examines no entry twice.
	cur    int32
	inSlot bool
}

// bucket is the number of the bucket holding time ns.
func (t *Table) bucket(ns int64) int64 {
	b := ns / t.gran
	if ns < 0 && b*t.gran != ns {
		b-- // floor, for clocks that start below zero
	}
	return b
}

func slotOf(b int64) int32 {
	return int32(((b % wheelSlots) + wheelSlots) % wheelSlots)
}

// linkLocked files the entry at slab index i in the bucket of its deadline, or in the first
// unprocessed bucket if that is later (a clock a little behind another goroutine's).
func (t *Table) linkLocked(s *shard, i int32) {
	w := &s.wheel
	e := &s.slab[i]
	sl := slotOf(max(t.bucket(e.deadline), w.done))
	e.prev, e.next = -sl-1, w.heads[sl]
	if e.next != 0 {
		s.slab[e.next-1].prev = i + 1
	}
	w.heads[sl] = i + 1
}

// unlink takes the entry at slab index i out of its bucket.
func (w *wheel) unlink(slab []entry, i int32) {
	e := &slab[i]
	if e.prev > 0 {
		slab[e.prev-1].next = e.next
	} else {
		w.heads[-e.prev-1] = e.next
	}
	if e.next != 0 {
		slab[e.next-1].prev = e.prev
	}
	if w.inSlot && w.cur == i+1 {
		w.cur = e.next
	}
	e.prev, e.next = 0, 0
}

// tickLocked processes the buckets that lie wholly before now, examining up to budget
// entries: expired entries are removed and the others filed in the bucket of their deadline.
// It returns how many entries it removed and how many it examined.
func (t *Table) tickLocked(s *shard, now int64, budget int) (removed, examined int) {
	w := &s.wheel
	nowB := t.bucket(now)
	if w.done == noBucket {
		w.done = nowB
		return 0, 0
	}
	if nowB-w.done > wheelSlots {
		// Long without a tick: one turn visits every slot, and removes every expired entry
		// wherever it was filed.
		w.done, w.inSlot = nowB-wheelSlots, false
	}
	for w.done < nowB {
		sl := slotOf(w.done)
		if !w.inSlot {
			w.cur, w.inSlot = w.heads[sl], true
		}
		for w.cur != 0 {
			if examined == budget {
				return removed, examined
			}
			examined++
			i := w.cur - 1
			e := &s.slab[i]
			w.cur = e.next
			switch b := t.bucket(e.deadline); {
			case e.deadline <= now:
				t.removeLocked(s, i, now)
				removed++
			case slotOf(b) != sl:
				// Refreshed since it was filed.
				w.unlink(s.slab, i)
				t.linkLocked(s, i)
			}
			// Otherwise it is due a whole turn later: it stays.
		}
		w.done++
		w.inSlot = false
	}
	return removed, examined
}

// expiredAtLocked counts the entries that have expired by now and not been removed, of the
// destination d, or of all destinations when d is nil, examining at most budget entries;
// with remove, it removes them. It looks only at the buckets from the first unprocessed one to
// the bucket of now, where such entries are.
func (t *Table) expiredAtLocked(s *shard, d *dest, now int64, remove bool, budget int) int {
	w := &s.wheel
	if w.done == noBucket {
		return 0
	}
	nowB := t.bucket(now)
	n := 0
	for b := max(w.done, nowB-wheelSlots+1); b <= nowB; b++ {
		for i := s.wheel.heads[slotOf(b)]; i != 0 && budget > 0; budget-- {
			e := &s.slab[i-1]
			next := e.next
			if e.deadline <= now && (d == nil || e.key.rport == d.rport && e.key.proto == d.proto && e.key.remote == d.remote) {
				n++
				if remove {
					t.removeLocked(s, i-1, now)
				}
			}
			i = next
		}
	}
	return n
}
