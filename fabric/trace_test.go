package fabric

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/sgengine"
)

// withGroups compiles groups for testState: every ENI has "all-out"; db (ENI 2) also has "db"
// admitting 5432 from subnet a.
func withGroups(t *testing.T, st *State) *State {
	t.Helper()
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	cfg := &sgengine.Config{Groups: []sgengine.Group{
		{ID: "sg-out", Name: "all-out", Egress: []sgengine.Rule{{Proto: -1, CIDR: any4}}},
		{ID: "sg-db", Name: "db", Ingress: []sgengine.Rule{{Proto: 6, FromPort: 5432, ToPort: 5432, CIDR: netip.MustParsePrefix("10.0.1.0/24")}}},
	}}
	for i, e := range st.ENIs {
		groups := []string{"sg-out"}
		if i == 2 {
			groups = append(groups, "sg-db")
		}
		cfg.ENIs = append(cfg.ENIs, sgengine.ENIConfig{Index: uint32(i), Groups: groups, PrivateIPs: e.Identity.Addrs})
	}
	pol, err := sgengine.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st.WithPolicy(pol)
}

func TestTraceReachableWithReturnPath(t *testing.T) {
	st := withGroups(t, testState(t))
	res, err := Trace(st, TraceSpec{From: 0, Dst: netip.MustParseAddr("10.0.2.10"), Proto: 6, SrcPort: 40000, DstPort: 5432})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Forward.Reachable || res.Return == nil || !res.Return.Reachable {
		t.Fatalf("trace: %+v", res)
	}
	var sawRule bool
	for _, h := range res.Forward.Hops {
		if h.Stage == "sg-ingress" && strings.Contains(h.Detail, "tcp 5432") {
			sawRule = true
		}
	}
	if !sawRule {
		t.Errorf("the ingress hop does not name the rule: %+v", res.Forward.Hops)
	}
	// The reply passes db's groups as a tracked reply, though no outbound rule of db names web.
	if h := res.Return.Hops; len(h) == 0 || !strings.Contains(hopsText(h), "tracked") {
		t.Errorf("return hops: %s", hopsText(res.Return.Hops))
	}
}

func TestTraceReportsEveryBlocker(t *testing.T) {
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	base := withGroups(t, testState(t))
	// b's ACL admits nothing on 22, and db's groups do not admit 22 either: two blockers.
	st := withNetwork(t, base, []ACLEntry{{Number: 100, Allow: true, Proto: 6, FromPort: 5432, ToPort: 5432, CIDR: any4}}, nil, nil)
	res, err := Trace(st, TraceSpec{From: 0, Dst: netip.MustParseAddr("10.0.2.10"), Proto: 6, SrcPort: 40000, DstPort: 22})
	if err != nil {
		t.Fatal(err)
	}
	if res.Forward.Reachable || res.Return != nil {
		t.Fatalf("trace: %+v", res)
	}
	codes := map[string]bool{}
	for _, b := range res.Forward.Blockers {
		codes[b.Code] = true
	}
	if !codes["SUBNET_ACL_RESTRICTION"] || !codes["ENI_SG_RULES_MISMATCH"] || len(res.Forward.Blockers) != 2 {
		t.Errorf("blockers: %+v", res.Forward.Blockers)
	}
	// 5432 gets in, but the reply is refused on the way out of b: no ephemeral-port rule.
	res, _ = Trace(st, TraceSpec{From: 0, Dst: netip.MustParseAddr("10.0.2.10"), Proto: 6, SrcPort: 40000, DstPort: 5432})
	if !res.Forward.Reachable || res.Return == nil || res.Return.Reachable {
		t.Fatalf("ephemeral-port pitfall: %+v", res)
	}
	if b := res.Return.Blockers; len(b) != 1 || b[0].Code != "SUBNET_ACL_RESTRICTION" || !strings.Contains(b[0].Detail, "outbound rule *") {
		t.Errorf("return blockers: %+v", b)
	}
}

func hopsText(h []Hop) string {
	var b strings.Builder
	for _, x := range h {
		b.WriteString(x.Stage + " " + x.Component + " " + x.Detail + "; ")
	}
	return b.String()
}

// TestMiddleboxCaveat: a group reference admits a member's packet sent directly, and not the
// same packet forwarded by an appliance (AWS's middlebox caveat); a CIDR rule admits both.
func TestMiddleboxCaveat(t *testing.T) {
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	compile := func(peer sgengine.Rule) *State {
		cfg := &sgengine.Config{Groups: []sgengine.Group{
			{ID: "sg-out", Name: "all-out", Egress: []sgengine.Rule{{Proto: -1, CIDR: any4}}},
			{ID: "sg-db", Name: "db", Ingress: []sgengine.Rule{peer}},
		}}
		st := testState(t)
		for i, e := range st.ENIs {
			cfg.ENIs = append(cfg.ENIs, sgengine.ENIConfig{Index: uint32(i), Groups: []string{"sg-out", "sg-db"}, PrivateIPs: e.Identity.Addrs})
		}
		pol, err := sgengine.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		st = st.WithPolicy(pol)
		st, _ = st.WithSourceDestCheck(4, false)
		return st
	}
	for _, c := range []struct {
		name      string
		rule      sgengine.Rule
		forwarded bool
	}{
		{"group reference", sgengine.Rule{Proto: 6, FromPort: 5432, ToPort: 5432, Group: "sg-db"}, false},
		{"cidr", sgengine.Rule{Proto: 6, FromPort: 5432, ToPort: 5432, CIDR: netip.MustParsePrefix("10.0.1.0/24")}, true},
	} {
		st := compile(c.rule)
		var v Verdict
		direct := tcpTo(st, 0, 2, "10.0.2.10", 5432, true)
		Decide(direct, 0, st, nil, &v)
		if v.Action != Deliver {
			t.Errorf("%s, direct: %v", c.name, v.Reason)
		}
		// The same packet as router.eth1 (ENI 4, check off) forwards it into subnet b.
		fwd := ipPkt(st.ENIs[4].Identity.MAC, st.VPCs[0].RouterMAC, "10.0.1.10", "10.0.2.10")
		fwd.DstPort = 5432
		Decide(fwd, 4, st, nil, &v)
		if got := v.Action == Deliver; got != c.forwarded {
			t.Errorf("%s, forwarded by an appliance: delivered=%v, want %v (%v)", c.name, got, c.forwarded, v.Reason)
		}
	}
}

// A multi-homed instance answers out of the ENI its routes pick, not the one the request came
// in on: db (subnet b) reaches router's eth0 address across the VPC router, and router's reply
// to db leaves eth1 (its subnet holds db) with eth0's address — dropped as spoofed while eth1's
// check is on, delivered when it is off. The same request from web (subnet a) is answered out
// of eth0 either way.
func TestTraceReplyLeavesTheRoutedENI(t *testing.T) {
	st := testState(t)
	st.ENIs[3].Instance, st.ENIs[4].Instance = "router", "router"
	st.ENIs[4].Name = "eth1"
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	cfg := &sgengine.Config{Groups: []sgengine.Group{{ID: "sg-all", Name: "all",
		Ingress: []sgengine.Rule{{Proto: -1, CIDR: any4}}, Egress: []sgengine.Rule{{Proto: -1, CIDR: any4}}}}}
	for i, e := range st.ENIs {
		cfg.ENIs = append(cfg.ENIs, sgengine.ENIConfig{Index: uint32(i), Groups: []string{"sg-all"}, PrivateIPs: e.Identity.Addrs})
	}
	pol, err := sgengine.Compile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	st = st.WithPolicy(pol)
	router0 := netip.MustParseAddr("10.0.1.5")
	for _, c := range []struct {
		from      uint32
		checkOff  bool
		returnsOK bool
	}{
		{from: 2, returnsOK: false}, // db: the reply leaves eth1 with eth0's address
		{from: 2, checkOff: true, returnsOK: true},
		{from: 0, returnsOK: true}, // web: same subnet as eth0, the reply leaves eth0
	} {
		s := st
		if c.checkOff {
			if s, err = st.WithSourceDestCheck(4, false); err != nil {
				t.Fatal(err)
			}
		}
		spec := TraceSpec{From: c.from, Dst: router0, Proto: 6, SrcPort: 40000, DstPort: 22}
		res, err := Trace(s, spec)
		if err != nil {
			t.Fatal(err)
		}
		if !res.Forward.Reachable || res.Return == nil {
			t.Fatalf("from %d: forward %+v", c.from, res.Forward)
		}
		if res.Return.Reachable != c.returnsOK {
			t.Errorf("from %d, eth1 check off %v: return reachable %v, want %v: %s", c.from, c.checkOff, res.Return.Reachable, c.returnsOK, hopsText(res.Return.Hops))
		}
		var sc TraceScratch
		out, err := QuickTrace(s, spec, &sc)
		if err != nil {
			t.Fatal(err)
		}
		if out.Return != c.returnsOK {
			t.Errorf("from %d, eth1 check off %v: QuickTrace return %v, want %v", c.from, c.checkOff, out.Return, c.returnsOK)
		}
	}
}
