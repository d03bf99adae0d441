package nacl

import (
	"encoding/binary"
	"strings"
	"testing"
)

// FuzzParseEntry: ParseEntry never panics, what it accepts String writes back to the same
// entry, and an accepted entry alone in an ACL compiles — ParseEntry leaves nothing for Check
// to refuse in a single rule — with a warning exactly when its CIDR has host bits set.
func FuzzParseEntry(f *testing.F) {
	for _, s := range append(append([]string(nil), awsCustom6...),
		"150 deny udp all 10.0.0.0/8 in", "160 allow icmp 3:4 0.0.0.0/0 in", "161 allow icmp 11 0.0.0.0/0 out",
		"170 allow icmpv6 all ::/0 out", "171 allow icmpv6 0.0.0.0/0 in", "172 allow icmpv6 1:-1 0.0.0.0/0 in",
		"180 allow all ::/0 in", "190 allow 47 192.0.2.0/24 in", "1 DENY -1 100.68.0.18/18 Egress",
		"100 allow tcp 443-80 0.0.0.0/0 in", "100 allow icmp all:4 0.0.0.0/0 in", "", "32766 allow 255 ::ffff:10.0.0.0/104 out",
	) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseEntry(s)
		if err != nil {
			return
		}
		back, err := ParseEntry(e.String())
		if err != nil {
			t.Fatalf("%q parsed to %+v, whose String %q does not parse: %v", s, e, e.String(), err)
		}
		if back != e {
			t.Fatalf("%q: round trip via %q gives %+v, want %+v", s, e.String(), back, e)
		}
		c, warns, err := Compile(ACL{ID: "acl-fuzz", Entries: []Entry{e}}, Limits{})
		if err != nil {
			t.Fatalf("%q parsed but does not compile: %v", s, err)
		}
		hostBits := false
		for _, w := range warns {
			hostBits = hostBits || strings.Contains(w, "has host bits set")
		}
		if hostBits != (e.CIDR.Masked() != e.CIDR) {
			t.Fatalf("%q: warnings %q", s, warns)
		}
		// The rule is judged by its own family: a packet at its CIDR is matched by it or
		// passes over it to the * rule, never another rule.
		p := Packet{Src: e.CIDR.Masked().Addr(), Dst: e.CIDR.Masked().Addr(), Proto: 6, DstPort: 80, HasPorts: true}
		if r := c.Evaluate(e.Egress, &p); !r.Implicit && r.Rule != e.Number {
			t.Fatalf("%q: %v", s, r)
		}
	})
}

// FuzzEvaluate is the differential test driven by the fuzzer: the bytes seed a random rule set
// and a batch of packets, and Evaluate must agree with the linear model on every one.
func FuzzEvaluate(f *testing.F) {
	for _, s := range []uint64{0, 1, 7, 42, 1 << 40} {
		var b [9]byte
		binary.LittleEndian.PutUint64(b[:], s)
		b[8] = byte(s % 40)
		f.Add(b[:])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b [9]byte
		copy(b[:], data)
		g := newGen(binary.LittleEndian.Uint64(b[:]))
		a := g.acl(int(b[8]) % 40)
		c, _, err := Compile(a, Limits{RulesPerDirection: 40})
		if err != nil {
			t.Fatal(err)
		}
		canon := c.ACL()
		for range 64 {
			p := g.packet(a)
			for _, eg := range []bool{false, true} {
				if got, want := c.Evaluate(eg, &p), naive(canon, eg, &p); got != want {
					t.Fatalf("%s %+v: Evaluate %+v, naive %+v\nrules: %v", direction(eg), p, got, want, canon.Entries)
				}
			}
		}
	})
}
