package natgw

// islot is one slot of an index: the entry's hash and its slab index plus one (0: empty).
type islot struct {
	h   uint32
	ref int32
}

// index is open addressing with linear probing and backward-shift deletion, so that probing
// never meets tombstones.
type index struct {
	slots []islot
	used  int
}

func (x *index) insert(h uint32, ref int32) {
	if (x.used+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].ref != 0 {
		i = (i + 1) & mask
	}
	x.slots[i] = islot{h, ref}
	x.used++
}

func (x *index) grow() {
	old := x.slots
	x.slots = make([]islot, max(minSlots, 2*len(old)))
	mask := uint32(len(x.slots) - 1)
	for _, sl := range old {
		if sl.ref == 0 {
			continue
		}
		i := sl.h & mask
		for x.slots[i].ref != 0 {
			i = (i + 1) & mask
		}
		x.slots[i] = sl
	}
}

// remove deletes the slot of ref, which must be filed under h.
func (x *index) remove(h uint32, ref int32) {
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].ref != ref {
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		sl := x.slots[j]
		if sl.ref == 0 {
			break
		}
		// The slot at j may fill the hole at i unless its home lies cyclically in (i, j].
		if home := sl.h & mask; (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = sl
			i = j
		}
	}
	x.slots[i] = islot{}
	x.used--
}

// destTable is open addressing over dest records, like index.
type destTable struct {
	slots []dest
	used  int
}

func (x *destTable) find(h uint32, proto uint8, remote *[16]byte, rport uint16) *dest {
	if len(x.slots) == 0 {
		return nil
	}
	mask := uint32(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		d := &x.slots[i]
		if !d.used {
			return nil
		}
		if d.h == h && d.rport == rport && d.proto == proto && d.remote == *remote {
			return d
		}
	}
}

func (x *destTable) findOrAdd(h uint32, proto uint8, remote *[16]byte, rport uint16) *dest {
	if d := x.find(h, proto, remote, rport); d != nil {
		return d
	}
	if (x.used+1)*4 > len(x.slots)*3 {
		old := x.slots
		x.slots = make([]dest, max(minSlots, 2*len(old)))
		for i := range old {
			if old[i].used {
				*x.emptySlot(old[i].h) = old[i]
			}
		}
	}
	d := x.emptySlot(h)
	*d = dest{remote: *remote, rport: rport, proto: proto, used: true, h: h}
	x.used++
	return d
}

func (x *destTable) emptySlot(h uint32) *dest {
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].used {
		i = (i + 1) & mask
	}
	return &x.slots[i]
}

// release drops one mapping from the destination's count, and the record when none is left.
func (x *destTable) release(h uint32, proto uint8, remote *[16]byte, rport uint16) {
	d := x.find(h, proto, remote, rport)
	if d.count--; d.count > 0 {
		return
	}
	mask := uint32(len(x.slots) - 1)
	i := h & mask
	for &x.slots[i] != d {
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		if !x.slots[j].used {
			break
		}
		if home := x.slots[j].h & mask; (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			x.slots[i] = x.slots[j]
			i = j
		}
	}
	x.slots[i] = dest{}
	x.used--
}
