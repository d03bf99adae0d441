package awsimport

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/hypervisor"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/probe"
	"github.com/ec2sim/ec2sim/scenarios"
)

// An imported snapshot comes up as a real lab, and real packets between its instances are
// allowed or denied as its rules say.
func TestImportedSnapshotAsLab(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: brings a lab up (network namespaces and TAP devices)")
	}
	if testing.Short() {
		t.Skip("root namespace test skipped in -short mode")
	}
	for _, c := range []struct {
		snapshot string
		probes   []labProbe
	}{
		// Two instances in one subnet; each group admits tcp/22 from anywhere and nothing else.
		{"subnet", []labProbe{
			{"i-08ef86e76fceabd8d", "i-07519d6ba3f9497e4", "tcp", 22, true},
			{"i-08ef86e76fceabd8d", "i-07519d6ba3f9497e4", "tcp", 80, false},
			{"i-07519d6ba3f9497e4", "i-08ef86e76fceabd8d", "udp", 22, false},
		}},
		// One instance behind an internet gateway, reached from the simulated internet on the
		// address its real public IP (18.216.80.133) was mapped to; its group admits tcp/22 only.
		{"public-subnet", []labProbe{
			{"client", "i-06669a407b2ef3ae5@public", "tcp", 22, true},
			{"client", "i-06669a407b2ef3ae5@public", "tcp", 80, false},
		}},
		// (vpc-peering and nat-gateway would be next once the lab forwards over peering and NAT
		// gateways: lab.NewPlan refuses those route targets today.)
	} {
		t.Run(c.snapshot, func(t *testing.T) {
			sc, rep := importDir(t, filepath.Join(snapshots, c.snapshot))
			client := netip.MustParseAddr("198.51.100.10")
			if sc.VPCs[0].InternetGateway {
				sc.Internet = &scenarios.Internet{Hosts: []*scenarios.Host{{Name: "client", IP: client}}}
			}
			b := make([]byte, 3)
			rand.Read(b)
			name := "aws-" + hex.EncodeToString(b)
			plan, err := lab.NewPlan(sc, name)
			if err != nil {
				t.Fatal(err)
			}
			l, err := lab.Up(context.Background(), plan)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() {
				if err := l.Down(); err != nil {
					t.Errorf("down: %v", err)
				}
				if left, _ := hypervisor.ListLabObjects(name); len(left) > 0 {
					t.Errorf("left behind after down: %v", left)
				}
			})
			for _, p := range c.probes {
				dst, err := l.ResolveTarget(p.to)
				if err != nil {
					t.Fatal(err)
				}
				to, public := strings.CutSuffix(p.to, "@public")
				if public && !slices.ContainsFunc(rep.Addresses, func(m Mapping) bool { return m.Mapped.Addr() == dst }) {
					t.Errorf("%s is %s, which is not the address the report maps its public IP to: %v", p.to, dst, rep.Addresses)
				}
				spec := probe.Spec{FromNS: hypervisor.NSPath(name, p.from), ToNS: hypervisor.NSPath(name, to),
					Dst: dst, Proto: p.proto, Port: p.port, Timeout: 1500 * time.Millisecond}
				if p.from == "client" {
					spec.FromNS, spec.FromAddr = hypervisor.NSPath(name, scenarios.InternetName), client
				}
				r, err := probe.Run(spec)
				if err != nil {
					t.Fatal(err)
				}
				if r.Completed != p.allow {
					t.Errorf("%s -> %s %s/%d: completed %v, want %v (%s)", p.from, p.to, p.proto, p.port, r.Completed, p.allow, r.Detail)
				}
			}
		})
	}
}

type labProbe struct {
	from, to, proto string
	port            int
	allow           bool
}
