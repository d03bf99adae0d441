package sgengine

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReset: after Reset a tracked flow is forgotten (its reply is judged by the rules again)
// and the table tracks new flows as a new one would.
func TestReset(t *testing.T) {
	cfg := &Config{
		Groups: []Group{{ID: "sg-1", Egress: []Rule{{Proto: ProtoAll, CIDR: netip.MustParsePrefix("0.0.0.0/0")}}}},
		ENIs:   []ENIConfig{{Index: 0, Groups: []string{"sg-1"}, PrivateIPs: []netip.Addr{netip.MustParseAddr("10.0.0.10")}}},
	}
	p, err := Compile(cfg)
	require.NoError(t, err)
	ct := NewConntrack()
	out := Flow{Src: netip.MustParseAddr("10.0.0.10"), Dst: netip.MustParseAddr("10.0.0.20"), Proto: ProtoUDP, SrcPort: 4000, DstPort: 53}
	reply := Flow{Src: out.Dst, Dst: out.Src, Proto: ProtoUDP, SrcPort: 53, DstPort: 4000}
	for round := range 2 {
		d := p.Egress(0, &out, ct, 1)
		require.True(t, d.Allowed)
		ct.Apply(&d.Update, 1)
		require.Equal(t, 1, ct.Len(), "round %d", round)
		require.True(t, p.Ingress(0, &reply, ct, 2).Allowed, "round %d: the reply is tracked", round)
		ct.Reset()
		require.Zero(t, ct.Len())
		require.False(t, p.Ingress(0, &reply, ct, 2).Allowed, "round %d: forgotten after Reset", round)
	}
}
