package awsimport

import (
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/ec2sim/ec2sim/lab/labtest"
	"github.com/ec2sim/ec2sim/scenarios"
)

// An imported snapshot comes up as a real lab, and real packets between its instances are
// allowed or denied as its rules say.
func TestImportedSnapshotAsLab(t *testing.T) {
	labtest.RequireRoot(t)
	for _, c := range []struct {
		snapshot string
		probes   []labtest.Probe
	}{
		// Two instances in one subnet; each group admits tcp/22 from anywhere and nothing else.
		{"subnet", []labtest.Probe{
			{From: "i-08ef86e76fceabd8d", To: "i-07519d6ba3f9497e4", Proto: "tcp", Port: 22, Allow: true},
			{From: "i-08ef86e76fceabd8d", To: "i-07519d6ba3f9497e4", Proto: "tcp", Port: 80},
			{From: "i-07519d6ba3f9497e4", To: "i-08ef86e76fceabd8d", Proto: "udp", Port: 22},
		}},
		// One instance behind an internet gateway, reached from the simulated internet on the
		// address its real public IP (18.216.80.133) was mapped to; its group admits tcp/22 only.
		{"public-subnet", []labtest.Probe{
			{From: "client", To: "i-06669a407b2ef3ae5@public", Proto: "tcp", Port: 22, Allow: true},
			{From: "client", To: "i-06669a407b2ef3ae5@public", Proto: "tcp", Port: 80},
		}},
		// Every snapshot, peering and NAT gateways included, is also compared cell by cell
		// with the reachability analysis in verify_test.go.
	} {
		t.Run(c.snapshot, func(t *testing.T) {
			sc, rep := importDir(t, filepath.Join(snapshots, c.snapshot))
			client := netip.MustParseAddr("198.51.100.10")
			if sc.VPCs[0].InternetGateway {
				sc.Internet = &scenarios.Internet{Hosts: []*scenarios.Host{{Name: "client", IP: client}}}
			}
			l := labtest.UpScenario(t, sc, "aws")
			for _, p := range c.probes {
				dst, err := l.ResolveTarget(p.To)
				if err != nil {
					t.Fatal(err)
				}
				if _, public := strings.CutSuffix(p.To, "@public"); public && !slices.ContainsFunc(rep.Addresses, func(m Mapping) bool { return m.Mapped.Addr() == dst }) {
					t.Errorf("%s is %s, which is not the address the report maps its public IP to: %v", p.To, dst, rep.Addresses)
				}
			}
			labtest.Expect(t, l, c.probes...)
		})
	}
}
