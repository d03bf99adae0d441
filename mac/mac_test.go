package mac

import (
	"net/netip"
	"testing"
)

func TestIsReserved(t *testing.T) {
	p := netip.MustParsePrefix("10.0.1.0/24")
	cases := map[string]bool{
		"10.0.1.0": true, "10.0.1.1": true, "10.0.1.2": true, "10.0.1.3": true, "10.0.1.255": true,
		"10.0.1.4": false, "10.0.1.254": false, "10.0.2.1": false,
	}
	for a, want := range cases {
		if got := IsReserved(p, netip.MustParseAddr(a)); got != want {
			t.Errorf("IsReserved(%s, %s) = %v, want %v", p, a, got, want)
		}
	}
	small := netip.MustParsePrefix("10.0.0.16/28")
	for a, want := range map[string]bool{"10.0.0.16": true, "10.0.0.19": true, "10.0.0.20": false, "10.0.0.30": false, "10.0.0.31": true} {
		if got := IsReserved(small, netip.MustParseAddr(a)); got != want {
			t.Errorf("IsReserved(%s, %s) = %v, want %v", small, a, got, want)
		}
	}
	if !IsReserved(netip.MustParsePrefix("2001:db8::/64"), netip.MustParseAddr("2001:db8::ffff:ffff:ffff:ffff")) {
		t.Error("last IPv6 address of a /64 must be reserved")
	}
}

func TestIPAMAllocatesLowestFreeAndNeverReserved(t *testing.T) {
	m, err := NewIPAM(netip.MustParsePrefix("10.0.0.16/28"))
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Reserve(netip.MustParseAddr("10.0.0.21"), "fixed"); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		a, err := m.Allocate("x")
		if err != nil {
			break
		}
		got = append(got, a.String())
	}
	// a /28 has 16 addresses, 5 reserved, one fixed: 10 left, lowest first, skipping .21
	want := []string{"10.0.0.20", "10.0.0.22", "10.0.0.23", "10.0.0.24", "10.0.0.25", "10.0.0.26", "10.0.0.27", "10.0.0.28", "10.0.0.29", "10.0.0.30"}
	if len(got) != len(want) {
		t.Fatalf("allocated %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("allocated %v, want %v", got, want)
		}
	}
	m.Release(netip.MustParseAddr("10.0.0.25"))
	if a, err := m.Allocate("y"); err != nil || a.String() != "10.0.0.25" {
		t.Fatalf("after release got %v %v, want 10.0.0.25", a, err)
	}
}

func TestIPAMReserveErrors(t *testing.T) {
	m, _ := NewIPAM(netip.MustParsePrefix("10.0.1.0/24"))
	for _, bad := range []string{"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255", "10.0.2.5"} {
		if err := m.Reserve(netip.MustParseAddr(bad), "a"); err == nil {
			t.Errorf("Reserve(%s) succeeded, want an error", bad)
		}
	}
	if err := m.Reserve(netip.MustParseAddr("10.0.1.9"), "a"); err != nil {
		t.Fatal(err)
	}
	if err := m.Reserve(netip.MustParseAddr("10.0.1.9"), "b"); err == nil {
		t.Error("double Reserve succeeded")
	}
	if _, err := NewIPAM(netip.MustParsePrefix("10.0.1.5/24")); err == nil {
		t.Error("NewIPAM accepted host bits")
	}
	if _, err := NewIPAM(netip.MustParsePrefix("10.0.1.0/29")); err == nil {
		t.Error("NewIPAM accepted a /29")
	}
}

func TestMACsUniqueLocalUnicastAndReproducible(t *testing.T) {
	a, b := NewMACs("lab-a"), NewMACs("lab-a")
	seen := map[HW]bool{}
	for i := 0; i < 5000; i++ {
		x := a.Next()
		if !x.IsLocalUnicast() {
			t.Fatalf("%s is not locally administered unicast", x)
		}
		if seen[x] {
			t.Fatalf("%s handed out twice", x)
		}
		seen[x] = true
		if y := b.Next(); y != x {
			t.Fatalf("same lab gave %s then %s", x, y)
		}
	}
	if NewMACs("lab-b").Next() == NewMACs("lab-a").Next() {
		t.Error("two labs start with the same MAC")
	}
	if err := a.Claim(HW{0x01, 0, 0, 0, 0, 1}); err == nil {
		t.Error("Claim accepted a multicast MAC")
	}
}

func TestChecks(t *testing.T) {
	own := HW{2, 0, 0, 0, 0, 1}
	id := &Identity{MAC: own, Addrs: []netip.Addr{netip.MustParseAddr("10.0.1.10"), netip.MustParseAddr("10.0.1.11")},
		Prefixes: []netip.Prefix{netip.MustParsePrefix("10.0.1.64/28")}, SourceDestCheck: true}
	other := netip.MustParseAddr("10.0.1.99")
	cases := []struct {
		name string
		sdc  bool
		mac  HW
		ip   string
		src  Result
		dst  Result
	}{
		{"own primary", true, own, "10.0.1.10", OK, OK},
		{"own secondary", true, own, "10.0.1.11", OK, OK},
		{"delegated prefix", true, own, "10.0.1.70", OK, OK},
		{"spoofed ip", true, own, other.String(), BadSourceIP, BadDestIP},
		{"spoofed ip check off", false, own, other.String(), OK, OK},
		{"spoofed mac", true, HW{2, 0, 0, 0, 0, 2}, "10.0.1.10", BadSourceMAC, OK},
		{"spoofed mac check off", false, HW{2, 0, 0, 0, 0, 2}, "10.0.1.10", BadSourceMAC, OK},
	}
	for _, c := range cases {
		id.SourceDestCheck = c.sdc
		a := netip.MustParseAddr(c.ip)
		if got := id.CheckSource(c.mac, a); got != c.src {
			t.Errorf("%s: CheckSource = %v, want %v", c.name, got, c.src)
		}
		if got := id.CheckDest(a); got != c.dst {
			t.Errorf("%s: CheckDest = %v, want %v", c.name, got, c.dst)
		}
	}
	if n := testing.AllocsPerRun(100, func() { id.CheckSource(own, other) }); n != 0 {
		t.Errorf("CheckSource allocates %v times", n)
	}
}
