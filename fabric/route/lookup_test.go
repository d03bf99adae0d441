package route

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// awsExample is the user guide's route table for a dual-stack VPC: local routes, a peering
// connection, an internet gateway and an egress-only internet gateway.
func awsExample(t testing.TB) Table {
	tbl := NewTable("rtb-example", true, exampleVPC)
	for _, r := range []struct{ dest, target string }{
		{"172.31.0.0/16", "pcx-11223344556677889"},
		{"0.0.0.0/0", "igw-12345678901234567"},
		{"::/0", "eigw-aabbccddee1122334"},
	} {
		if err := tbl.AddRoute(Route{Dest: pfx(r.dest), Target: tgt(t, r.target)}, exampleVPC); err != nil {
			t.Fatal(err)
		}
	}
	return tbl
}

func TestLookupAWSExample(t *testing.T) {
	c, err := Compile(awsExample(t), exampleVPC)
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"10.0.1.5":              "10.0.0.0/16 -> local",
		"10.0.255.255":          "10.0.0.0/16 -> local",
		"172.31.7.1":            "172.31.0.0/16 -> pcx-11223344556677889",
		"172.32.0.1":            "0.0.0.0/0 -> igw-12345678901234567",
		"203.0.113.9":           "0.0.0.0/0 -> igw-12345678901234567",
		"2001:db8:1234:1a00::5": "2001:db8:1234:1a00::/56 -> local",
		"2001:db8:1234:1aff::1": "2001:db8:1234:1a00::/56 -> local",
		"2001:db8:1234:1b00::1": "::/0 -> eigw-aabbccddee1122334",
		"2606:4700::1":          "::/0 -> eigw-aabbccddee1122334",
		"169.254.169.254":       "", // IMDS: reserved, never routed though 0.0.0.0/0 covers it
		"169.254.171.255":       "", // the end of 169.254.168.0/22
		"169.254.172.0":         "0.0.0.0/0 -> igw-12345678901234567",
		"169.254.167.255":       "0.0.0.0/0 -> igw-12345678901234567",
		"fd00:ec2::23":          "", // the IPv6 DNS and IMDS range
		"fd00:ec3::1":           "::/0 -> eigw-aabbccddee1122334",
	}
	for dst, want := range cases {
		got, ok := c.Lookup(addr(dst))
		if ok != (want != "") || ok && got.String() != want {
			t.Errorf("Lookup(%s) = %v, %v; want %q", dst, got, ok, want)
		}
	}
	// Without a default route a destination outside the VPC has no route.
	c, _ = Compile(NewTable("rtb-bare", false, exampleVPC), exampleVPC)
	if r, ok := c.Lookup(addr("203.0.113.9")); ok {
		t.Errorf("a table of local routes routes 203.0.113.9 to %v", r)
	}
	if c.ID() != "rtb-bare" || c.Main() || len(c.Routes()) != 2 {
		t.Errorf("Compiled describes itself as %s %v %v", c.ID(), c.Main(), c.Routes())
	}
}

// TestLookupPriority is the user guide's route-priority example: a propagated VGW route and a
// static IGW route to the same 172.31.0.0/24; the static one wins, and the longest prefix wins
// over both.
func TestLookupPriority(t *testing.T) {
	tbl := NewTable("rtb-prio", false, exampleVPC)
	vgw := Route{Dest: pfx("172.31.0.0/24"), Target: Target{Kind: VGW, ID: "vgw-11223344556677889"}, Origin: Propagated}
	igw := Route{Dest: pfx("172.31.0.0/24"), Target: Target{Kind: IGW, ID: "igw-12345678901234567"}}
	more := Route{Dest: pfx("172.31.0.128/25"), Target: Target{Kind: VGW, ID: "vgw-11223344556677889"}, Origin: Propagated}
	for _, order := range [][]Route{{vgw, igw, more}, {igw, vgw, more}} {
		tbl := tbl
		for _, r := range order {
			if err := tbl.AddRoute(r, exampleVPC); err != nil {
				t.Fatal(err)
			}
		}
		c, err := Compile(tbl, exampleVPC)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := c.Lookup(addr("172.31.0.5")); got != igw {
			t.Errorf("order %v: 172.31.0.5 -> %v, want the static route", order, got)
		}
		if got, _ := c.Lookup(addr("172.31.0.200")); got != more {
			t.Errorf("order %v: 172.31.0.200 -> %v, want the longer propagated route", order, got)
		}
		for i, r := range c.Routes() {
			if want := r == vgw; c.Overridden(i) != want {
				t.Errorf("Overridden(%v) = %v", r, !want)
			}
		}
	}
}

func TestLookupMiddlebox(t *testing.T) {
	tbl := NewTable("rtb-app", false, exampleVPC)
	fw := Route{Dest: pfx("10.0.1.0/24"), Target: Target{Kind: ENI, ID: "eni-fw", Index: 7}}
	if err := tbl.AddRoute(fw, exampleVPC); err != nil {
		t.Fatal(err)
	}
	c, _ := Compile(tbl, exampleVPC)
	if got, _ := c.Lookup(addr("10.0.1.9")); got != fw || got.Target.Index != 7 {
		t.Errorf("10.0.1.9 -> %v, want the appliance", got)
	}
	if got, _ := c.Lookup(addr("10.0.0.9")); got.Target.Kind != Local {
		t.Errorf("10.0.0.9 -> %v, want local", got)
	}
}

// naiveLookup scans every route for the longest prefix, static before propagated.
func naiveLookup(routes []Route, dst netip.Addr) (Route, bool) {
	for _, r := range []netip.Prefix{pfx("169.254.168.0/22"), pfx("fd00:ec2::/32")} {
		if r.Contains(dst) {
			return Route{}, false
		}
	}
	best, found := Route{}, false
	for _, r := range routes {
		if !r.Dest.Contains(dst) {
			continue
		}
		if !found || r.Dest.Bits() > best.Dest.Bits() || r.Dest.Bits() == best.Dest.Bits() && rank(r.Origin) < rank(best.Origin) {
			best, found = r, true
		}
	}
	return best, found
}

// randomTable builds a VPC and a table of up to n random routes that AWS accepts: routes
// around the VPC, middlebox routes to its subnets, propagated duplicates of static routes, and
// routes around the reserved ranges.
func randomTable(r *rand.Rand, n int) (Table, VPC, []netip.Prefix) {
	randAddr := func(v6 bool) netip.Addr {
		if v6 {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.IntN(256))
			}
			if r.IntN(4) == 0 {
				b[0], b[1], b[2], b[3] = 0xfd, 0, 0x0e, 0xc2 // near the reserved range
			}
			return netip.AddrFrom16(b)
		}
		b := [4]byte{byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256)), byte(r.IntN(256))}
		if r.IntN(4) == 0 {
			b[0], b[1] = 169, 254
		}
		return netip.AddrFrom4(b)
	}
	vpc := VPC{}
	v4, _ := randAddr(false).Prefix(16)
	v6, _ := randAddr(true).Prefix(56)
	vpc.CIDRs = []netip.Prefix{v4, v6}
	for i := range 4 {
		s4, _ := netip.AddrFrom4([4]byte{v4.Addr().As4()[0], v4.Addr().As4()[1], byte(i), 0}).Prefix(24)
		b := v6.Addr().As16()
		b[7] = byte(i)
		s6, _ := netip.AddrFrom16(b).Prefix(64)
		vpc.Subnets = append(vpc.Subnets, s4, s6)
	}
	tbl := NewTable("rtb-rand", r.IntN(2) == 0, vpc)
	kinds := []TargetKind{IGW, NATGW, ENI, Instance, Peering, TGW, GWLBEndpoint, Blackhole, EgressOnlyIGW}
	var pool []netip.Prefix // destinations, to aim lookups at
	for range n {
		var rt Route
		switch k := r.IntN(10); {
		case k < 2:
			rt.Dest = vpc.Subnets[r.IntN(len(vpc.Subnets))]
			rt.Target = Target{Kind: []TargetKind{ENI, NATGW, GWLBEndpoint}[r.IntN(3)], ID: fmt.Sprint("x-", r.IntN(5))}
		case k < 4 && len(pool) > 0:
			rt.Dest = pool[r.IntN(len(pool))] // the same destination again, maybe propagated
		default:
			v6 := r.IntN(2) == 0
			bits := r.IntN(33)
			if v6 {
				bits = r.IntN(129)
			}
			rt.Dest, _ = randAddr(v6).Prefix(bits)
		}
		if rt.Target.Kind == 0 {
			rt.Target = Target{Kind: kinds[r.IntN(len(kinds))], ID: fmt.Sprint("x-", r.IntN(5))}
		}
		if r.IntN(4) == 0 {
			rt.Origin, rt.Target.Kind = Propagated, VGW
		}
		if r.IntN(8) == 0 {
			rt.State = StateBlackhole
		}
		if rt.Target.Kind == Blackhole {
			rt.Target.ID = ""
		}
		if tbl.AddRoute(rt, vpc) == nil {
			pool = append(pool, rt.Dest)
		}
	}
	return tbl, vpc, append(pool, vpc.CIDRs...)
}

func TestLookupDifferential(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	tables := 300
	if testing.Short() {
		tables = 30
	}
	var hits, misses int
	for i := range tables {
		tbl, vpc, pool := randomTable(r, []int{5, 30, 200}[i%3])
		c, err := Compile(tbl, vpc)
		if err != nil {
			t.Fatal(err)
		}
		for range 500 {
			// An address inside a destination, at its edges, or just outside.
			p := pool[r.IntN(len(pool))]
			a := p.Addr()
			b := a.AsSlice()
			for j := p.Bits(); j < a.BitLen(); j++ {
				if r.IntN(2) == 0 {
					b[j/8] |= 0x80 >> (j % 8)
				}
			}
			a, _ = netip.AddrFromSlice(b)
			if r.IntN(5) == 0 {
				if prev := p.Addr().Prev(); prev.IsValid() {
					a = prev
				}
			}
			got, gok := c.Lookup(a)
			want, wok := naiveLookup(tbl.Routes, a)
			if got != want || gok != wok {
				t.Fatalf("table %d, Lookup(%s) = %v %v, naive %v %v\nroutes %v", i, a, got, gok, want, wok, tbl.Routes)
			}
			if gok {
				hits++
			} else {
				misses++
			}
		}
	}
	if hits < tables*50 || misses < tables*5 {
		t.Errorf("poor coverage: %d hits, %d misses", hits, misses)
	}
}

func TestLookupDoesNotAllocate(t *testing.T) {
	c, _ := Compile(awsExample(t), exampleVPC)
	for _, dst := range []string{"10.0.1.5", "172.31.0.1", "203.0.113.9", "2001:db8:1234:1a00::5", "2606:4700::1", "169.254.169.254"} {
		a := addr(dst)
		if n := testing.AllocsPerRun(1000, func() { c.Lookup(a) }); n != 0 {
			t.Errorf("Lookup(%s): %.1f allocations", dst, n)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{4, 50, 1000} {
		tbl, vpc, pool := randomTable(r, n)
		if n == 4 {
			tbl, vpc = awsExample(b), exampleVPC
		}
		c, err := Compile(tbl, vpc)
		if err != nil {
			b.Fatal(err)
		}
		addrs := make([]netip.Addr, 1024)
		for i := range addrs {
			addrs[i] = pool[r.IntN(len(pool))].Addr().Next()
		}
		if n == 4 {
			for i := range addrs {
				addrs[i] = []netip.Addr{addr("10.0.1.5"), addr("203.0.113.9"), addr("2001:db8:1234:1a00::5"), addr("2606:4700::1")}[i%4]
			}
		}
		b.Run(fmt.Sprintf("routes=%d", len(tbl.Routes)), func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				c.Lookup(addrs[i&1023])
				i++
			}
		})
	}
}
