package natgw

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The naive model: a slice of mappings searched linearly, with the semantics of the package
// documentation written out directly. It borrows only the table's probe start (where the
// search for a free port begins), so that both must choose the same port.

type mState uint8

const (
	mSyn mState = iota + 1
	mEstablished
	mClosed
	mUDP
	mICMP
)

type mMapping struct {
	key           Key
	ext           uint16
	state         mState
	finOut, finIn bool
	deadline      int64
}

func (x *mMapping) open() bool { return x.state == mSyn || x.state == mEstablished }

type model struct {
	pub          netip.Addr
	portMin      uint16
	nports       int
	maxPer       int
	idle, closed int64
	maps         []*mMapping // expired ones stay until something removes them, as in the table
	m            Metrics     // ActiveConnectionCount is computed by active
	start        func(Key) int
}

// mResult is what the model expects of one packet. alt: the table may answer
// VerdictNoMappingReset instead of VerdictIdleTimeoutReset, when it reaped the mapping first.
type mResult struct {
	v    Verdict
	flow Key
	ext  uint16
	ok   bool
	alt  bool
}

func newModel(tb *Table, o Options) *model {
	o, _ = o.withDefaults()
	return &model{
		pub: o.PublicAddr, portMin: o.PortMin, nports: int(o.PortMax) - int(o.PortMin) + 1,
		maxPer: min(o.MaxPerDest, int(o.PortMax)-int(o.PortMin)+1),
		idle:   int64(o.IdleTimeout), closed: int64(o.TCPClosedTimeout),
		start: func(k Key) int {
			fk := keyOf(&k)
			return int(tb.probeStart(outHash(tb.destHash(fk.proto, &fk.remote, fk.rport), &fk.inside, fk.iport)))
		},
	}
}

func (m *model) drop(v Verdict, flow Key) mResult {
	m.m.PacketsDropCount++
	return mResult{v: v, flow: flow}
}

func (m *model) find(k Key) *mMapping {
	for _, x := range m.maps {
		if x.key == k {
			return x
		}
	}
	return nil
}

func sameDest(a, b Key) bool {
	return a.Proto == b.Proto && a.Remote == b.Remote && a.RemotePort == b.RemotePort
}

// holder returns the mapping (live or not) that holds ext towards k's destination, live first.
func (m *model) holder(k Key, ext uint16, now int64, liveOnly bool) *mMapping {
	var expired *mMapping
	for _, x := range m.maps {
		if sameDest(x.key, k) && x.ext == ext {
			if x.deadline > now {
				return x
			}
			expired = x
		}
	}
	if liveOnly {
		return nil
	}
	return expired
}

func (m *model) remove(x *mMapping, now int64) {
	if x.key.Proto == ProtoTCP && x.open() && x.deadline <= now {
		m.m.IdleTimeoutCount++
	}
	m.maps = slices.DeleteFunc(m.maps, func(y *mMapping) bool { return y == x })
}

func (m *model) reapAll(now int64) {
	for _, x := range slices.Clone(m.maps) {
		if x.deadline <= now {
			m.remove(x, now)
		}
	}
}

func (m *model) active() int64 {
	n := int64(0)
	for _, x := range m.maps {
		if x.key.Proto == ProtoTCP && x.open() {
			n++
		}
	}
	return n
}

func (m *model) advance(x *mMapping, fromInside bool, f uint8, now int64) {
	if x.key.Proto == ProtoTCP {
		switch {
		case f&TCPRst != 0:
			x.state = mClosed
		case x.state == mClosed:
			if fromInside && f&(TCPSyn|TCPAck|TCPRst) == TCPSyn {
				x.state, x.finOut, x.finIn = mSyn, false, false
				m.m.ConnectionAttemptCount++
			}
		default:
			if !fromInside && x.state == mSyn && f&TCPSyn != 0 && f&TCPAck != 0 {
				x.state = mEstablished
				m.m.ConnectionEstablishedCount++
			}
			if f&TCPFin != 0 {
				if fromInside {
					x.finOut = true
				} else {
					x.finIn = true
				}
			}
			if x.finOut && x.finIn {
				x.state = mClosed
			}
		}
	}
	x.deadline = now + m.idle
	if x.state == mClosed {
		x.deadline = now + m.closed
	}
}

func (m *model) outbound(p *Packet, now int64) mResult {
	if !p.Src.Is4() || !p.Dst.Is4() {
		return m.drop(VerdictUnsupported, Key{})
	}
	var k Key
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		if p.Fragment && p.Proto == ProtoTCP {
			return m.drop(VerdictFragment, Key{})
		}
		if p.Fragment && !p.FirstFragment {
			return mResult{v: VerdictAddressOnly, ok: true}
		}
		k = Key{p.Proto, p.Src, p.SrcPort, p.Dst, p.DstPort}
	case ProtoICMP:
		if p.Fragment {
			return m.drop(VerdictFragment, Key{})
		}
		if p.IsICMPError {
			q := &p.Quote
			if !q.Src.Is4() || !q.Dst.Is4() {
				return m.drop(VerdictNoMapping, Key{})
			}
			switch q.Proto {
			case ProtoTCP, ProtoUDP:
				k = Key{q.Proto, q.Dst, q.DstPort, q.Src, q.SrcPort}
			case ProtoICMP:
				k = Key{q.Proto, q.Dst, q.ICMPID, q.Src, 0}
			default:
				return m.drop(VerdictNoMapping, Key{})
			}
			if x := m.find(k); x != nil && x.deadline > now {
				return mResult{v: VerdictTranslated, flow: k, ext: x.ext, ok: true}
			}
			return m.drop(VerdictNoMapping, k)
		}
		if !slices.Contains([]uint8{8, 13, 15, 17}, p.ICMPType) {
			return m.drop(VerdictUnsupported, Key{})
		}
		k = Key{ProtoICMP, p.Src, p.ICMPID, p.Dst, 0}
	default:
		return m.drop(VerdictUnsupported, Key{})
	}
	x := m.find(k)
	if x != nil && x.deadline > now {
		m.advance(x, true, p.TCPFlags, now)
		return mResult{v: VerdictTranslated, flow: k, ext: x.ext, ok: true}
	}
	if p.Proto == ProtoTCP && p.TCPFlags&(TCPSyn|TCPAck|TCPRst) != TCPSyn {
		switch {
		case p.TCPFlags&TCPRst != 0:
			return m.drop(VerdictNoMapping, k)
		case x != nil && x.open():
			m.remove(x, now)
			r := m.drop(VerdictIdleTimeoutReset, k)
			r.ext, r.alt = x.ext, true
			return r
		}
		return m.drop(VerdictNoMappingReset, k)
	}
	live := 0
	for _, y := range m.maps {
		if sameDest(y.key, k) && y.deadline > now {
			live++
		}
	}
	if live >= m.maxPer {
		m.m.ErrorPortAllocation++
		return m.drop(VerdictErrorPortAllocation, k)
	}
	ext := uint16(0)
	for i := range m.nports {
		e := m.portMin + uint16((m.start(k)+i)%m.nports)
		if m.holder(k, e, now, true) == nil {
			ext = e
			break
		}
	}
	if x != nil {
		m.remove(x, now)
	}
	if y := m.holder(k, ext, now, false); y != nil {
		m.remove(y, now)
	}
	n := &mMapping{key: k, ext: ext, deadline: now + m.idle}
	switch k.Proto {
	case ProtoTCP:
		n.state = mSyn
		m.m.ConnectionAttemptCount++
	case ProtoUDP:
		n.state = mUDP
	default:
		n.state = mICMP
	}
	m.maps = append(m.maps, n)
	return mResult{v: VerdictNewMapping, flow: k, ext: ext, ok: true}
}

func (m *model) lookup(proto uint8, remote netip.Addr, rport, ext uint16, flags uint8, refresh bool, now int64) mResult {
	for _, x := range m.maps {
		if x.key.Proto == proto && x.key.Remote == remote && x.key.RemotePort == rport && x.ext == ext && x.deadline > now {
			if refresh {
				m.advance(x, false, flags, now)
			}
			return mResult{v: VerdictTranslated, flow: x.key, ext: ext, ok: true}
		}
	}
	return m.drop(VerdictNoMapping, Key{})
}

func (m *model) inbound(p *Packet, now int64) mResult {
	if !p.Src.Is4() || !p.Dst.Is4() {
		return m.drop(VerdictUnsupported, Key{})
	}
	switch p.Proto {
	case ProtoTCP, ProtoUDP:
		if p.Fragment && (p.Proto == ProtoTCP || !p.FirstFragment) {
			return m.drop(VerdictFragment, Key{})
		}
		return m.lookup(p.Proto, p.Src, p.SrcPort, p.DstPort, p.TCPFlags, true, now)
	case ProtoICMP:
		if p.Fragment {
			return m.drop(VerdictFragment, Key{})
		}
		if p.IsICMPError {
			q := &p.Quote
			if q.Src != m.pub || !q.Dst.Is4() {
				return m.drop(VerdictNoMapping, Key{})
			}
			switch q.Proto {
			case ProtoTCP, ProtoUDP:
				return m.lookup(q.Proto, q.Dst, q.DstPort, q.SrcPort, 0, false, now)
			case ProtoICMP:
				return m.lookup(q.Proto, q.Dst, 0, q.ICMPID, 0, false, now)
			}
			return m.drop(VerdictNoMapping, Key{})
		}
		if !slices.Contains([]uint8{0, 14, 16, 18}, p.ICMPType) {
			return m.drop(VerdictUnsupported, Key{})
		}
		return m.lookup(ProtoICMP, p.Src, 0, p.ICMPID, 0, true, now)
	}
	return m.drop(VerdictUnsupported, Key{})
}

// The world of the generated packets is small, so that flows collide, ports run out and
// replies find their mappings.
var (
	dInsides  = []netip.Addr{ip("10.0.2.10"), ip("10.0.2.11"), ip("10.0.3.12")}
	dIPorts   = []uint16{40000, 40001, 7}
	dRemotes  = []netip.Addr{ip("203.0.113.7"), ip("198.51.100.9")}
	dRPorts   = []uint16{443, 53}
	dFlags    = []uint8{TCPSyn, TCPSyn | TCPAck, TCPAck, TCPFin | TCPAck, TCPRst, TCPRst | TCPAck, TCPSyn | TCPRst, 0}
	dProtos   = []uint8{ProtoTCP, ProtoTCP, ProtoUDP, ProtoICMP}
	dOutICMP  = []uint8{8, 8, 13, 0, 11, 3}
	dInICMP   = []uint8{0, 0, 14, 8}
	dTimeStep = []int64{0, 1, sec, 9 * sec, 10 * sec, 50 * sec, 99 * sec, 100 * sec}
)

// runDiff decodes steps of 4 bytes from data, runs each through the table (evaluate, then
// apply) and the model, and requires that they agree on every packet; at checkpoints, after a
// full reap, on the table's size and counters too. The table's invariants are checked all along.
func runDiff(t *testing.T, o Options, data []byte, seen map[Verdict]int) {
	o.PublicAddr = ip(pub)
	o.IdleTimeout, o.TCPClosedTimeout = 100*time.Second, 10*time.Second
	tb := newTable(t, o)
	m := newModel(tb, o)
	now := int64(1000 * sec)
	checkpoint := func(step int) {
		tb.Reap(now, 1<<30)
		m.reapAll(now)
		checkTable(t, tb, now)
		require.Equal(t, len(m.maps), tb.Len(), "step %d", step)
		want := m.m
		want.ActiveConnectionCount = m.active()
		require.Equal(t, want, tb.Metrics(), "step %d", step)
	}
	for step := 0; len(data) >= 4; step++ {
		b0, b1, b2, b3 := data[0], data[1], data[2], data[3]
		data = data[4:]
		var p Packet
		outbound := false
		switch kind := b0 % 10; {
		case kind < 4:
			outbound = true
			p = Packet{Proto: dProtos[b1&3], Src: dInsides[int(b1>>2)%3], SrcPort: dIPorts[int(b1>>4)%3],
				Dst: dRemotes[b1>>6&1], DstPort: dRPorts[b1>>7], TCPFlags: dFlags[b2&7]}
			if p.Proto == ProtoICMP {
				p.ICMPType, p.ICMPID, p.SrcPort, p.DstPort = dOutICMP[int(b2>>3)%6], p.SrcPort, 0, 0
			}
			switch {
			case b3 == 0xff:
				p.Dst = ip("2001:db8::1")
			case b3 == 0xfe:
				p.Proto = 47
			case b3&7 == 7:
				p.Fragment, p.FirstFragment = true, b3&8 != 0
				if !p.FirstFragment {
					p.SrcPort, p.DstPort, p.TCPFlags = 0, 0, 0
				}
			}
		case kind < 7:
			p = Packet{Proto: dProtos[b1&3], Src: dRemotes[b1>>2&1], SrcPort: dRPorts[b1>>3&1], Dst: ip(pub),
				TCPFlags: dFlags[b2&7], DstPort: m.portMin + uint16(int(b3>>2)%(m.nports+1))}
			if len(m.maps) > 0 && b3&1 == 0 {
				x := m.maps[int(b2)%len(m.maps)]
				p.DstPort = x.ext
				if b3&2 == 0 {
					p.Proto, p.Src, p.SrcPort = x.key.Proto, x.key.Remote, x.key.RemotePort
				}
			}
			if p.Proto == ProtoICMP {
				p.ICMPType, p.ICMPID, p.SrcPort, p.DstPort = dInICMP[b2>>3&3], p.DstPort, 0, 0
			}
			if b2>>5&3 == 3 {
				p.Fragment, p.FirstFragment = true, b2&0x80 != 0
			}
		case kind == 7:
			k := Key{Proto: ProtoUDP, Inside: dInsides[0], InsidePort: 1, Remote: dRemotes[0], RemotePort: 53}
			ext := uint16(b3)
			if len(m.maps) > 0 {
				x := m.maps[int(b2)%len(m.maps)]
				k, ext = x.key, x.ext
			}
			switch b3 % 4 {
			case 1:
				ext++
				k.InsidePort++
			case 2:
				k.Remote = dRemotes[1]
			}
			outbound = b1&1 == 1
			if outbound {
				p = Packet{Proto: ProtoICMP, Src: k.Inside, Dst: k.Remote, ICMPType: 3, IsICMPError: true,
					Quote: Quote{Proto: k.Proto, Src: k.Remote, Dst: k.Inside, SrcPort: k.RemotePort, DstPort: k.InsidePort}}
			} else {
				p = Packet{Proto: ProtoICMP, Src: ip("192.0.2.254"), Dst: ip(pub), ICMPType: 11, IsICMPError: true,
					Quote: Quote{Proto: k.Proto, Src: ip(pub), Dst: k.Remote, SrcPort: ext, DstPort: k.RemotePort}}
				if b1&2 != 0 {
					p.Quote.Src = ip(inst)
				}
			}
			if k.Proto == ProtoICMP {
				p.Quote.ICMPID = p.Quote.SrcPort
				if outbound {
					p.Quote.ICMPID = k.InsidePort
				}
				p.Quote.SrcPort, p.Quote.DstPort = 0, 0
			}
			p.Fragment = b3&8 != 0
		case kind == 8:
			now += dTimeStep[b1&7]
			continue
		default:
			if b1&1 == 1 {
				tb.Reap(now, int(b2%4)) // reaps a few: the model cannot tell which
			} else {
				checkpoint(step)
			}
			continue
		}
		var d Decision
		var ok bool
		var want mResult
		if outbound {
			d, ok = out(tb, p, now)
			want = m.outbound(&p, now)
		} else {
			d, ok = in(tb, p, now)
			want = m.inbound(&p, now)
		}
		if want.alt && d.Verdict == VerdictNoMappingReset {
			want.v = VerdictNoMappingReset
		}
		if seen != nil {
			seen[d.Verdict]++
		}
		require.Equal(t, want.v, d.Verdict, "step %d, outbound %v, packet %+v", step, outbound, p)
		require.Equal(t, want.ok, ok, "step %d: Apply", step)
		if d.Verdict.Resets() || d.Verdict == VerdictTranslated || d.Verdict == VerdictNewMapping {
			require.Equal(t, want.flow, d.Flow, "step %d: flow", step)
		}
		if d.Verdict == VerdictTranslated || d.Verdict == VerdictNewMapping || d.Verdict == VerdictIdleTimeoutReset {
			require.Equal(t, want.ext, d.Ext, "step %d: external port", step)
		}
		if step%16 == 0 {
			checkTable(t, tb, now)
		}
	}
	checkpoint(-1)
}

var diffOptions = []Options{
	{PortMin: 1024, PortMax: 1029, MaxPerDest: 4}, // the destination limit binds
	{PortMin: 1024, PortMax: 1027},                // the port range binds
	{MaxPerDest: 3},                               // the full range, probing over many ports
	{PortMin: 9, PortMax: 9},                      // one port per destination
}

func TestDifferential(t *testing.T) {
	seen := map[Verdict]int{}
	for oi, o := range diffOptions {
		for seed := range uint64(12) {
			r := rand.New(rand.NewPCG(seed, uint64(oi)))
			data := make([]byte, 4*3000)
			for i := range data {
				data[i] = byte(r.Uint32())
			}
			runDiff(t, o, data, seen)
		}
	}
	// Every verdict must have come up, or the generator has stopped exercising the table.
	for v := VerdictNone + 1; v < numVerdicts; v++ {
		require.Greater(t, seen[v], 10, "verdict %v came up %d times", v, seen[v])
	}
	t.Logf("verdicts: %v", seen)
}

// FuzzDifferential runs fuzzed step sequences through the table and the model.
func FuzzDifferential(f *testing.F) {
	f.Add(byte(0), []byte{0, 0, 0, 0, 4, 0, 1, 0, 8, 7, 0, 0, 0, 0, 2, 0, 9, 0, 0, 0})
	f.Add(byte(1), []byte{0, 1, 0, 0, 0, 17, 0, 0, 0, 33, 0, 0, 0, 49, 0, 0, 0, 65, 0, 0, 9, 0, 0, 0})
	f.Add(byte(2), []byte{0, 3, 0, 0, 5, 3, 0, 0, 7, 0, 0, 0, 7, 1, 0, 0, 8, 7, 0, 0, 0, 3, 0, 0})
	f.Add(byte(3), []byte{0, 0, 0, 0, 8, 7, 0, 0, 0, 0, 2, 0, 0, 0, 3, 0, 9, 1, 3, 0, 0, 0, 0, 0})
	f.Add(byte(0), []byte{0, 2, 0, 3, 0, 2, 0, 7, 4, 2, 0x60, 0, 0, 0, 0, 0xff, 0, 0, 0, 0xfe})
	f.Fuzz(func(t *testing.T, opt byte, data []byte) {
		if len(data) > 4*2000 {
			data = data[:4*2000]
		}
		runDiff(t, diffOptions[int(opt)%len(diffOptions)], data, nil)
	})
}
