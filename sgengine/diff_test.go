package sgengine

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
)

// The naive model: loop over every rule of every group of the ENI, in configuration order,
// and return the first that allows the packet. Compile must agree with it on every packet.

func naiveRuleMatches(cfg *Config, r *Rule, peer netip.Addr, f *Flow) bool {
	switch {
	case r.CIDR.IsValid():
		if !r.CIDR.Contains(peer) {
			return false
		}
	case r.PrefixList != "":
		if !slices.ContainsFunc(cfg.PrefixLists[r.PrefixList], func(p netip.Prefix) bool { return p.Contains(peer) }) {
			return false
		}
	default:
		if f.Forwarded { // the middlebox caveat
			return false
		}
		member := false
		for _, e := range cfg.ENIs {
			if slices.Contains(e.Groups, r.Group) && slices.Contains(e.PrivateIPs, peer) {
				member = true
			}
		}
		if !member {
			return false
		}
	}
	if r.Proto == ProtoAll {
		return true
	}
	if r.Proto != int(f.Proto) {
		return false
	}
	switch r.Proto {
	case ProtoTCP, ProtoUDP:
		return r.FromPort <= int(f.DstPort) && int(f.DstPort) <= r.ToPort
	case ProtoICMP, ProtoICMPv6:
		return r.FromPort == -1 || (r.FromPort == int(f.ICMPType) && (r.ToPort == -1 || r.ToPort == int(f.ICMPCode)))
	}
	return true
}

func rulesOf(g *Group, dir Direction) []Rule {
	if dir == DirIngress {
		return g.Ingress
	}
	return g.Egress
}

func naiveMatch(cfg *Config, eni *ENIConfig, dir Direction, f *Flow) RuleRef {
	peer := f.Dst
	if dir == DirIngress {
		peer = f.Src
	}
	for gi := range cfg.Groups {
		g := &cfg.Groups[gi]
		if !slices.Contains(eni.Groups, g.ID) {
			continue
		}
		for j := range rulesOf(g, dir) {
			if naiveRuleMatches(cfg, &rulesOf(g, dir)[j], peer, f) {
				return makeRef(gi, dir, j)
			}
		}
	}
	return 0
}

// naiveWorld returns, for a family and protocol, which ports the /0 rules of the ENI's
// groups allow in dir.
func naiveWorld(cfg *Config, eni *ENIConfig, dir Direction, v6 bool, proto uint8) []bool {
	ports := make([]bool, 65536)
	world := netip.PrefixFrom(netip.IPv4Unspecified(), 0)
	if v6 {
		world = netip.PrefixFrom(netip.IPv6Unspecified(), 0)
	}
	for gi := range cfg.Groups {
		g := &cfg.Groups[gi]
		if !slices.Contains(eni.Groups, g.ID) {
			continue
		}
		for _, r := range rulesOf(g, dir) {
			isWorld := r.CIDR == world || (r.PrefixList != "" && slices.Contains(cfg.PrefixLists[r.PrefixList], world))
			if !isWorld || (r.Proto != ProtoAll && r.Proto != int(proto)) {
				continue
			}
			lo, hi := 0, 65535
			if r.Proto != ProtoAll {
				lo, hi = r.FromPort, r.ToPort
			}
			for p := lo; p <= hi; p++ {
				ports[p] = true
			}
		}
	}
	return ports
}

type worldKey struct {
	eni   uint32
	dir   Direction
	v6    bool
	proto uint8
}

// naiveUntracked applies AWS's rule by brute force; worlds memoizes naiveWorld for one config.
func naiveUntracked(cfg *Config, eni *ENIConfig, dir Direction, f *Flow, worlds map[worldKey][]bool) bool {
	if f.Proto != ProtoTCP && f.Proto != ProtoUDP {
		return false
	}
	v6 := f.Src.Is6()
	world := func(dir Direction) []bool {
		k := worldKey{eni.Index, dir, v6, f.Proto}
		if worlds[k] == nil {
			worlds[k] = naiveWorld(cfg, eni, dir, v6, f.Proto)
		}
		return worlds[k]
	}
	here, there := world(dir), world(1-dir)
	all := func(p []bool) bool { return !slices.Contains(p, false) }
	if !here[f.DstPort] {
		return false
	}
	return all(there) || (all(here) && there[f.SrcPort])
}

// gen makes random configurations and flows over a small address space, so that rules,
// members and packets collide often.
type gen struct {
	r     *rand.Rand
	addrs []netip.Addr
}

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	for _, s := range []string{"10.0.0.1", "10.0.0.2", "10.0.1.7", "10.1.0.9", "10.200.3.4", "192.0.2.1",
		"192.0.2.200", "198.51.100.7", "203.0.113.1", "0.0.0.0", "255.255.255.255",
		"2001:db8::1", "2001:db8::2", "2001:db8:1::7", "2001:db8:ffff::1", "fd00::9", "::", "::ffff:10.0.0.1"} {
		g.addrs = append(g.addrs, ip(s))
	}
	return g
}

func (g *gen) addr() netip.Addr {
	a := g.addrs[g.r.IntN(len(g.addrs))]
	if g.r.IntN(4) == 0 { // perturb the last byte, keeping the family
		b := a.As16()
		b[15] ^= byte(g.r.IntN(256))
		if a.Is4() {
			return netip.AddrFrom16(b).Unmap()
		}
		return netip.AddrFrom16(b)
	}
	return a
}

func (g *gen) prefix() netip.Prefix {
	a := g.addr()
	var bits int
	if a.Is4() {
		bits = []int{0, 0, 8, 16, 24, 28, 31, 32, 32}[g.r.IntN(9)]
	} else {
		bits = []int{0, 0, 16, 32, 48, 64, 120, 127, 128}[g.r.IntN(9)]
	}
	return netip.PrefixFrom(a, bits).Masked()
}

var hotPorts = []int{0, 1, 22, 53, 80, 443, 1023, 1024, 5000, 32768, 65534, 65535}

func (g *gen) port() int {
	if g.r.IntN(3) == 0 {
		return g.r.IntN(65536)
	}
	return hotPorts[g.r.IntN(len(hotPorts))]
}

func (g *gen) rule(groups int, lists []string) Rule {
	var r Rule
	r.Proto = []int{-1, -1, 6, 6, 6, 17, 17, 1, 58, 47, 0, 132}[g.r.IntN(12)]
	switch r.Proto {
	case ProtoTCP, ProtoUDP:
		a, b := g.port(), g.port()
		if g.r.IntN(4) == 0 {
			a, b = 0, 65535
		}
		r.FromPort, r.ToPort = min(a, b), max(a, b)
	case ProtoICMP, ProtoICMPv6:
		r.FromPort, r.ToPort = []int{-1, 8, 3, 0, 128}[g.r.IntN(5)], -1
		if r.FromPort >= 0 && g.r.IntN(2) == 0 {
			r.ToPort = g.r.IntN(5)
		}
	default:
		r.FromPort, r.ToPort = g.r.IntN(100), g.r.IntN(100) // ignored
	}
	switch n := g.r.IntN(10); {
	case n < 6:
		r.CIDR = g.prefix()
	case n < 8 || len(lists) == 0:
		r.Group = fmt.Sprintf("sg-%d", g.r.IntN(groups))
	default:
		r.PrefixList = lists[g.r.IntN(len(lists))]
	}
	return r
}

func (g *gen) config() *Config {
	cfg := &Config{PrefixLists: map[string][]netip.Prefix{}}
	var lists []string
	for i := range g.r.IntN(3) {
		id := fmt.Sprintf("pl-%d", i)
		lists = append(lists, id)
		for range 1 + g.r.IntN(4) {
			cfg.PrefixLists[id] = append(cfg.PrefixLists[id], g.prefix())
		}
	}
	ng := 1 + g.r.IntN(6)
	for i := range ng {
		grp := Group{ID: fmt.Sprintf("sg-%d", i)}
		for range g.r.IntN(14) {
			grp.Ingress = append(grp.Ingress, g.rule(ng, lists))
		}
		for range g.r.IntN(14) {
			grp.Egress = append(grp.Egress, g.rule(ng, lists))
		}
		cfg.Groups = append(cfg.Groups, grp)
	}
	for i := range 1 + g.r.IntN(5) {
		e := ENIConfig{Index: uint32(i * 3)}
		for range 1 + g.r.IntN(3) {
			e.Groups = append(e.Groups, fmt.Sprintf("sg-%d", g.r.IntN(ng)))
		}
		for range 1 + g.r.IntN(2) {
			e.PrivateIPs = append(e.PrivateIPs, g.addr())
		}
		e.PublicIPs = []netip.Addr{g.addr()}
		cfg.ENIs = append(cfg.ENIs, e)
	}
	return cfg
}

func (g *gen) flow() Flow {
	var f Flow // addresses are chosen by checkAgainstNaive
	f.Proto = uint8([]int{6, 6, 17, 17, 1, 58, 47, 0, 132, 50}[g.r.IntN(10)])
	f.SrcPort, f.DstPort = uint16(g.port()), uint16(g.port())
	f.ICMPType = uint8([]int{8, 0, 3, 128, 129, 11}[g.r.IntN(6)])
	f.ICMPCode = uint8(g.r.IntN(5))
	f.TCPFlags = TCPSyn
	f.Forwarded = g.r.IntN(2) == 0
	return f
}

// checkAgainstNaive compares every ENI of cfg on n random flows in both directions.
func checkAgainstNaive(t *testing.T, g *gen, cfg *Config, n int) {
	t.Helper()
	p, err := Compile(cfg)
	if err != nil {
		t.Fatalf("Compile: %v\nconfig: %+v", err, cfg)
	}
	worlds := map[worldKey][]bool{}
	for range n {
		e := &cfg.ENIs[g.r.IntN(len(cfg.ENIs))]
		f := g.flow()
		// The ENI's own address on one side (as anti-spoofing makes sure, mostly), any address of
		// the same family on the other: packets never mix families.
		own, other := e.PrivateIPs[g.r.IntN(len(e.PrivateIPs))], g.addr()
		for other.Is4() != own.Is4() {
			other = g.addr()
		}
		f.Src, f.Dst = own, other
		if g.r.IntN(2) == 0 {
			f.Src, f.Dst = other, own
		}
		for dir := DirEgress; dir <= DirIngress; dir++ {
			d := p.Evaluate(e.Index, dir, &f, nil, 0)
			want := naiveMatch(cfg, e, dir, &f)
			if d.Rule != want || d.Allowed != (want != 0) {
				wi, _ := p.Rule(want)
				gi, _ := p.Rule(d.Rule)
				t.Fatalf("ENI %d %v %+v:\ncompiled %v (%v)\nnaive    %v (%v)\nconfig %+v", e.Index, dir, f, d.Rule, gi, want, wi, cfg)
			}
			if want != 0 && d.Untracked != naiveUntracked(cfg, e, dir, &f, worlds) {
				t.Fatalf("ENI %d %v %+v: untracked %v, naive says %v\nconfig %+v", e.Index, dir, f, d.Untracked, !d.Untracked, cfg)
			}
		}
	}
}

func TestCompiledMatchesNaive(t *testing.T) {
	configs, flows := 300, 200
	if testing.Short() {
		configs = 60
	}
	for i := range configs {
		g := newGen(uint64(i))
		checkAgainstNaive(t, g, g.config(), flows)
	}
}

// TestCompiledMatchesNaiveLarge checks the 1000-rule shape of the benchmarks too.
func TestCompiledMatchesNaiveLarge(t *testing.T) {
	g := newGen(4242)
	cfg := benchConfig(1000, 5)
	checkAgainstNaive(t, g, cfg, 3000)
}

func FuzzCompiledMatchesNaive(f *testing.F) {
	for _, s := range []uint64{0, 1, 2, 99, 12345} {
		f.Add(s, uint8(50))
	}
	f.Fuzz(func(t *testing.T, seed uint64, flows uint8) {
		g := newGen(seed)
		checkAgainstNaive(t, g, g.config(), int(flows))
	})
}
