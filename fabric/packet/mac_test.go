package packet

import (
	"net"
	"strings"
	"testing"
)

func TestMACString(t *testing.T) {
	for _, m := range []MAC{{}, macA, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {0x0a, 0x1b, 0x2c, 0x3d, 0x4e, 0x5f}} {
		if got, want := m.String(), net.HardwareAddr(m[:]).String(); got != want {
			t.Errorf("MAC(%x).String() = %q, want %q", m[:], got, want)
		}
	}
}

func TestParseMAC(t *testing.T) {
	for _, c := range []struct {
		in      string
		want    MAC
		wantErr string
	}{
		{"02:aa:bb:cc:dd:ee", MAC{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}, ""},
		{"02-AA-bb-CC-dd-EE", MAC{0x02, 0xaa, 0xbb, 0xcc, 0xdd, 0xee}, ""},
		{"ff:ff:ff:ff:ff:ff", MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, ""},
		{"", MAC{}, "want six hex pairs"},
		{"02:aa:bb:cc:dd", MAC{}, "want six hex pairs"},
		{"02:aa:bb:cc:dd:ee:ff", MAC{}, "want six hex pairs"},
		{"02.aa.bb.cc.dd.ee", MAC{}, `separator '.'`},
		{"02:aa-bb:cc:dd:ee", MAC{}, "mixed or missing separators"},
		{"02:ag:bb:cc:dd:ee", MAC{}, `"ag" is not a hex byte`},
		{"0x:aa:bb:cc:dd:ee", MAC{}, `"0x" is not a hex byte`},
	} {
		got, err := ParseMAC(c.in)
		switch {
		case c.wantErr == "" && err != nil:
			t.Errorf("ParseMAC(%q): %v", c.in, err)
		case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), c.in)):
			t.Errorf("ParseMAC(%q) error = %v, want one naming the input and saying %q", c.in, err, c.wantErr)
		case got != c.want:
			t.Errorf("ParseMAC(%q) = %v, want %v", c.in, got, c.want)
		}
		if err == nil && got.String() != strings.ToLower(strings.ReplaceAll(c.in, "-", ":")) {
			t.Errorf("ParseMAC(%q).String() = %q does not round-trip", c.in, got)
		}
	}
}

func TestMACClasses(t *testing.T) {
	for _, c := range []struct {
		m                                 MAC
		broadcast, multicast, local, zero bool
	}{
		{MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, true, true, false, false},
		{MAC{0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb}, false, true, false, false}, // IPv4 mDNS group
		{MAC{0x33, 0x33, 0x00, 0x00, 0x00, 0x01}, false, true, false, false}, // IPv6 all-nodes
		{MAC{0x02, 0x42, 0xac, 0x11, 0x00, 0x02}, false, false, true, false}, // AWS/Docker style
		{MAC{0x00, 0x1b, 0x21, 0x3a, 0x4b, 0x5c}, false, false, false, false},
		{MAC{0x03, 0x00, 0x00, 0x00, 0x00, 0x01}, false, true, false, false}, // local but group
		{MAC{}, false, false, false, true},
	} {
		if got := c.m.IsBroadcast(); got != c.broadcast {
			t.Errorf("%v.IsBroadcast() = %v", c.m, got)
		}
		if got := c.m.IsMulticast(); got != c.multicast {
			t.Errorf("%v.IsMulticast() = %v", c.m, got)
		}
		if got := c.m.IsLocalUnicast(); got != c.local {
			t.Errorf("%v.IsLocalUnicast() = %v", c.m, got)
		}
		if got := c.m.IsZero(); got != c.zero {
			t.Errorf("%v.IsZero() = %v", c.m, got)
		}
	}
}

func FuzzParseMAC(f *testing.F) {
	for _, s := range []string{"02:aa:bb:cc:dd:ee", "02-AA-bb-CC-dd-EE", "", "02:aa-bb:cc:dd:ee", "zz:zz:zz:zz:zz:zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMAC(s)
		if err != nil {
			return
		}
		// Whatever ParseMAC accepts, net.ParseHardwareAddr reads the same.
		ha, err := net.ParseMAC(s)
		if err != nil || len(ha) != 6 || MAC(ha) != m {
			t.Fatalf("ParseMAC(%q) = %v, net.ParseMAC = %v, %v", s, m, ha, err)
		}
		if back, err := ParseMAC(m.String()); err != nil || back != m {
			t.Fatalf("ParseMAC(%q).String() = %q does not parse back: %v, %v", s, m.String(), back, err)
		}
	})
}
