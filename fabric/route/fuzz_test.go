package route

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// FuzzParseTarget: ParseTarget never panics, and what it accepts String writes back to the
// same text or, for an ID that is not in AWS's form, to KIND/ID that parses to the same target.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{"local", "blackhole", "igw", "igw-0abc", "eigw-1", "nat-1", "eni-0f", "i-1",
		"vgw-9", "pcx-1", "tgw-1", "vpce-1", "instance/fw", "eni/fw.eth1", "nat/a/b", "igw-", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		tg, err := ParseTarget(s)
		if err != nil {
			return
		}
		if !tg.Kind.valid() || tg.needsID() && tg.ID == "" && s != tg.Kind.String() {
			t.Fatalf("%q parsed to %+v", s, tg)
		}
		back, err := ParseTarget(tg.String())
		if err != nil || back != tg {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, tg, tg.String(), back, err)
		}
	})
}

// FuzzLookup: a random table seeded by the fuzzer and random addresses from the fuzzer's
// bytes; Lookup agrees with the linear scan.
func FuzzLookup(f *testing.F) {
	f.Add(uint64(1), []byte{10, 0, 1, 5})
	f.Add(uint64(2), []byte{169, 254, 169, 254})
	f.Add(uint64(3), []byte{0xfd, 0, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, seed uint64, raw []byte) {
		r := rand.New(rand.NewPCG(seed, 9))
		tbl, vpc, pool := randomTable(r, 40)
		c, err := Compile(tbl, vpc)
		if err != nil {
			t.Fatal(err)
		}
		addrs := []netip.Addr{}
		if a, ok := netip.AddrFromSlice(raw); ok {
			addrs = append(addrs, a)
		}
		if len(raw) >= 8 {
			// Bytes laid over a destination of the table, to land near its routes.
			p := pool[binary.LittleEndian.Uint32(raw)%uint32(len(pool))]
			b := p.Addr().AsSlice()
			for i := range b {
				if i*8 >= p.Bits() {
					b[i] = raw[4+i%(len(raw)-4)]
				}
			}
			a, _ := netip.AddrFromSlice(b)
			addrs = append(addrs, a)
		}
		for _, a := range addrs {
			got, gok := c.Lookup(a)
			want, wok := naiveLookup(tbl.Routes, a)
			if got != want || gok != wok {
				t.Fatalf("Lookup(%s) = %v %v, naive %v %v", a, got, gok, want, wok)
			}
		}
	})
}
