package hypervisor

import (
	"net/netip"
	"regexp"
	"strings"
	"testing"
)

func TestValidateNames(t *testing.T) {
	long := strings.Repeat("a", 28)
	cases := []struct {
		lab, inst string
		ok        bool
	}{
		{"lab", "web-1", true},
		{"0lab", "0", true},
		{"a-b", "c", true},
		{"lab", "", false},
		{"", "web", false},
		{"-lab", "web", false},
		{"lab", "-web", false},
		{"Lab", "web", false},
		{"lab", "web_1", false},
		{"lab", "web.1", false},
		{"..", "x", false},
		{"lab", "../x", false},
		{"lab", "a/b", false},
		{"lab", "wéb", false},
		{long, long, true},        // 7 + 28 + 1 + 28 = 64
		{long, long + "a", false}, // 65
	}
	for _, c := range cases {
		err := ValidateNames(c.lab, c.inst)
		if (err == nil) != c.ok {
			t.Errorf("ValidateNames(%q, %q) = %v, want valid=%v", c.lab, c.inst, err, c.ok)
		}
	}
	for got, want := range map[string]string{
		NSName("lab", "web-1"):  "ec2sim-lab-web-1",
		NSPath("lab", "web-1"):  "/run/netns/ec2sim-lab-web-1",
		UTSPath("lab", "web-1"): "/run/ec2sim/uts/lab/web-1",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if err := ValidateLab(strings.Repeat("a", 56)); err == nil {
		t.Error("a 56-character lab name leaves no room for an instance name")
	}
}

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*$`)

// FuzzValidateNames checks the hand-written validator against the regular expression of the
// spec, and that whatever it accepts makes paths cleanly inside the expected directories.
func FuzzValidateNames(f *testing.F) {
	for _, s := range [][2]string{{"lab", "web"}, {"a-b", "c-"}, {"..", "."}, {"x", "a/b"}, {"", ""}, {"L", "w"}, {"a\x00", "b"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, lab, inst string) {
		want := nameRE.MatchString(lab) && nameRE.MatchString(inst) && len(NSName(lab, inst)) <= MaxNSName
		err := ValidateNames(lab, inst)
		if (err == nil) != want {
			t.Fatalf("ValidateNames(%q, %q) = %v, regexp model says valid=%v", lab, inst, err, want)
		}
		if err == nil {
			if p := NSPath(lab, inst); p != NetnsDir+"/ec2sim-"+lab+"-"+inst {
				t.Fatalf("NSPath(%q, %q) = %q is not cleanly inside %s", lab, inst, p, NetnsDir)
			}
			if p := UTSPath(lab, inst); p != UTSDir+"/"+lab+"/"+inst {
				t.Fatalf("UTSPath(%q, %q) = %q is not cleanly inside %s", lab, inst, p, UTSDir)
			}
		}
	})
}

var hostRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)

func FuzzValidateHostname(f *testing.F) {
	for _, s := range []string{"ip-10-0-1-23", "a.b", "a..b", "-a", "a-", strings.Repeat("x", 65), "ip-10-0-1-23.ec2.internal", "é", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		want := len(h) <= maxHostname && hostRE.MatchString(h)
		if err := ValidateHostname(h); (err == nil) != want {
			t.Fatalf("ValidateHostname(%q) = %v, regexp model says valid=%v", h, err, want)
		}
	})
}

func TestAWSHostname(t *testing.T) {
	for in, want := range map[string]string{"10.0.1.23": "ip-10-0-1-23", "172.31.255.4": "ip-172-31-255-4", "2001:db8::1": ""} {
		if got := AWSHostname(netip.MustParseAddr(in)); got != want {
			t.Errorf("AWSHostname(%s) = %q, want %q", in, got, want)
		}
	}
	if err := ValidateHostname(AWSHostname(netip.MustParseAddr("255.255.255.255"))); err != nil {
		t.Error(err)
	}
}

func goodENI() ENISpec {
	return ENISpec{Name: "eth0", MAC: [6]byte{0x02, 0, 0, 0, 0, 1}, Addr: netip.MustParsePrefix("10.0.1.23/24"),
		Gateway: netip.MustParseAddr("10.0.1.1"), MTU: 9001, Default: true}
}

func TestInstanceSpecValidate(t *testing.T) {
	second := func() ENISpec {
		e := goodENI()
		e.Name, e.MAC[5], e.Addr, e.Default = "eth1", 2, netip.MustParsePrefix("10.0.2.9/24"), false
		return e
	}
	cases := []struct {
		name  string
		edit  func(s *InstanceSpec)
		error string // substring; "" means valid
	}{
		{"good", func(s *InstanceSpec) {}, ""},
		{"two ENIs", func(s *InstanceSpec) { s.ENIs = append(s.ENIs, second()) }, ""},
		{"no default route", func(s *InstanceSpec) { s.ENIs[0].Default = false; s.ENIs[0].Gateway = netip.Addr{} }, ""},
		{"MTU zero means default", func(s *InstanceSpec) { s.ENIs[0].MTU = 0 }, ""},
		{"bad lab", func(s *InstanceSpec) { s.Lab = "A" }, `lab name "A"`},
		{"bad hostname", func(s *InstanceSpec) { s.Hostname = "-x" }, `host name "-x"`},
		{"no ENI", func(s *InstanceSpec) { s.ENIs = nil }, "no ENI"},
		{"lo", func(s *InstanceSpec) { s.ENIs[0].Name = "lo" }, `"lo" is reserved`},
		{"long ifname", func(s *InstanceSpec) { s.ENIs[0].Name = "eth0123456789abc" }, "16 characters"},
		{"slash ifname", func(s *InstanceSpec) { s.ENIs[0].Name = "eth/0" }, `'/'`},
		{"zero MAC", func(s *InstanceSpec) { s.ENIs[0].MAC = [6]byte{} }, "00:00:00:00:00:00 is not a unicast"},
		{"multicast MAC", func(s *InstanceSpec) { s.ENIs[0].MAC[0] = 1 }, "01:00:00:00:00:01 is not a unicast"},
		{"IPv6", func(s *InstanceSpec) { s.ENIs[0].Addr = netip.MustParsePrefix("2001:db8::1/64") }, "2001:db8::1/64 is not an IPv4"},
		{"no address", func(s *InstanceSpec) { s.ENIs[0].Addr = netip.Prefix{} }, "not an IPv4"},
		{"/0", func(s *InstanceSpec) { s.ENIs[0].Addr = netip.MustParsePrefix("10.0.1.23/0") }, "prefix length"},
		{"MTU", func(s *InstanceSpec) { s.ENIs[0].MTU = 70000 }, "MTU 70000"},
		{"gateway outside", func(s *InstanceSpec) { s.ENIs[0].Gateway = netip.MustParseAddr("10.0.2.1") }, "gateway 10.0.2.1 must be another IPv4 address inside 10.0.1.0/24"},
		{"gateway is self", func(s *InstanceSpec) { s.ENIs[0].Gateway = netip.MustParseAddr("10.0.1.23") }, "gateway 10.0.1.23"},
		{"no gateway", func(s *InstanceSpec) { s.ENIs[0].Gateway = netip.Addr{} }, "gateway invalid IP"},
		{"same name", func(s *InstanceSpec) { e := second(); e.Name = "eth0"; s.ENIs = append(s.ENIs, e) }, `two ENIs are named "eth0"`},
		{"same MAC", func(s *InstanceSpec) { e := second(); e.MAC[5] = 1; s.ENIs = append(s.ENIs, e) }, "two ENIs have MAC 02:00:00:00:00:01"},
		{"same addr", func(s *InstanceSpec) {
			e := second()
			e.Addr = netip.MustParsePrefix("10.0.1.23/24")
			s.ENIs = append(s.ENIs, e)
		}, "two ENIs have address 10.0.1.23"},
		{"two defaults", func(s *InstanceSpec) {
			e := second()
			e.Default, e.Gateway = true, netip.MustParseAddr("10.0.2.1")
			s.ENIs = append(s.ENIs, e)
		}, "2 ENIs carry the default route"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := InstanceSpec{Lab: "lab", Name: "web", ENIs: []ENISpec{goodENI()}}
			c.edit(&s)
			err := s.validate()
			switch {
			case c.error == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.error != "" && err == nil:
				t.Fatalf("no error, want one with %q", c.error)
			case c.error != "" && !strings.Contains(err.Error(), c.error):
				t.Fatalf("error %q does not contain %q", err, c.error)
			}
		})
	}
}

// TestInvalidNamesTouchNothing needs no root: validation fails before any file is made or removed.
func TestInvalidNamesTouchNothing(t *testing.T) {
	if _, err := CreateInstance(InstanceSpec{Lab: "no such lab!", Name: "web", ENIs: []ENISpec{goodENI()}}); err == nil {
		t.Error("CreateInstance accepted lab \"no such lab!\"")
	}
	if _, err := DestroyLab("../etc"); err == nil {
		t.Error(`DestroyLab accepted "../etc"`)
	}
	if _, err := ListLabObjects(""); err == nil {
		t.Error(`ListLabObjects accepted ""`)
	}
}
