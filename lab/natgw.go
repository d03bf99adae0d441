package lab

import (
	"fmt"
	"io"
	"net/netip"
	"strings"
	"text/tabwriter"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/scenarios"
)

// natENIName is the Name of a NAT gateway's ENI (ENIState.Instance holds the gateway's name):
// never an instance's ethN, so that "instance.ethN" never resolves to a gateway.
const natENIName = "natgw"

// planNATGateways adds an ENI of kind NAT gateway for every nat_gateways entry: in its subnet,
// with the next free address there (after the instances' fixed ones), and, when public, its
// Elastic IP or one from the pool of automatic public addresses, which the internet gateway
// maps one-to-one like an instance's. It runs after planInternet, so that automatic addresses
// it takes are not ones the instances got.
func planNATGateways(sc *scenarios.Scenario, labName string, st *fabric.State, macs *mac.MACs, ipams map[string]*mac.IPAM, subnetIdx map[string]uint32) error {
	var pool *publicPool
	for _, v := range sc.VPCs {
		for _, g := range v.NATGateways {
			subnet := g.Subnet
			if !strings.Contains(subnet, "/") {
				subnet = v.Name + "/" + subnet
			}
			ipam, ok := ipams[subnet]
			if !ok {
				return fmt.Errorf("%s: NAT gateway %s: no subnet %q in VPC %s", g.Pos, g.Qualified(), g.Subnet, v.Name)
			}
			a, err := ipam.Allocate("natgw/" + g.Qualified())
			if err != nil {
				return fmt.Errorf("%s: NAT gateway %s: %w", g.Pos, g.Qualified(), err)
			}
			si := subnetIdx[subnet]
			e := fabric.ENIState{Kind: fabric.KindNATGW, Present: true, ID: awsID("eni", labName, "natgw/"+g.Qualified()),
				Instance: g.Name, Name: natENIName, Subnet: si, VPC: st.Subnets[si].VPC,
				Identity: mac.Identity{MAC: macs.Next(), Addrs: []netip.Addr{a}}}
			if !g.Private {
				e.PublicIP = g.ElasticIP
				if !e.PublicIP.IsValid() {
					if pool == nil {
						pool = newPublicPool(sc)
						for i := range st.ENIs {
							if st.ENIs[i].PublicIP.IsValid() {
								pool.used[st.ENIs[i].PublicIP] = true
							}
						}
					}
					if e.PublicIP, err = pool.take(); err != nil {
						return fmt.Errorf("%s: NAT gateway %s: %w", g.Pos, g.Qualified(), err)
					}
				}
			}
			st.ENIs = append(st.ENIs, e)
		}
	}
	return nil
}

// natGatewayENI finds the ENI of VPC vpc's NAT gateway called name, for a route target.
func natGatewayENI(st *fabric.State, vpc, name string) (uint32, error) {
	for i := range st.ENIs {
		e := &st.ENIs[i]
		if e.Kind == fabric.KindNATGW && e.Instance == name && st.VPCs[e.VPC].Name == vpc {
			return uint32(i), nil
		}
	}
	return 0, fmt.Errorf("no NAT gateway %s in VPC %s", name, vpc)
}

// natGatewayByName finds a NAT gateway's ENI by "NAME" or "VPC/NAME" (the first VPC's with that
// name when the VPC is not given).
func natGatewayByName(st *fabric.State, name string) (uint32, error) {
	vpc, gw, qualified := strings.Cut(name, "/")
	if !qualified {
		vpc, gw = "", name
	}
	var names []string
	for i := range st.ENIs {
		e := &st.ENIs[i]
		if e.Kind != fabric.KindNATGW || !e.Present {
			continue
		}
		if e.Instance == gw && (vpc == "" || st.VPCs[e.VPC].Name == vpc) {
			return uint32(i), nil
		}
		names = append(names, st.VPCs[e.VPC].Name+"/"+e.Instance)
	}
	if len(names) == 0 {
		return 0, fmt.Errorf("no NAT gateway %q: the lab has none", name)
	}
	return 0, fmt.Errorf("no NAT gateway %q (NAT gateways: %s)", name, strings.Join(names, ", "))
}

// NATGatewayStatus is one NAT gateway with its counters, named as AWS's CloudWatch metrics of
// a NAT gateway.
type NATGatewayStatus struct {
	Name                       string `json:"name"`
	VPC                        string `json:"vpc"`
	ENI                        string `json:"eni"`
	Subnet                     string `json:"subnet"`
	PrivateIP                  string `json:"private_ip"`
	ElasticIP                  string `json:"elastic_ip,omitempty"`
	Connectivity               string `json:"connectivity"` // public or private
	Mappings                   int    `json:"mappings"`
	ActiveConnectionCount      int64  `json:"active_connection_count"`
	ConnectionAttemptCount     uint64 `json:"connection_attempt_count"`
	ConnectionEstablishedCount uint64 `json:"connection_established_count"`
	ErrorPortAllocation        uint64 `json:"error_port_allocation"`
	IdleTimeoutCount           uint64 `json:"idle_timeout_count"`
	PacketsDropCount           uint64 `json:"packets_drop_count"`
	// PacketsOutToDestination and the like are not kept; the engine counts what the gateway
	// dropped, by reason, on its ENI.
	Drops map[string]uint64 `json:"drops,omitempty"`
}

// natGatewayStatus reports every NAT gateway of the running lab.
func (l *Lab) natGatewayStatus() []NATGatewayStatus {
	st := l.Engine.State()
	var out []NATGatewayStatus
	for i := range st.ENIs {
		e := &st.ENIs[i]
		if !e.Present || e.Kind != fabric.KindNATGW {
			continue
		}
		m, _ := l.Engine.NATMetrics(uint32(i))
		s := NATGatewayStatus{Name: e.Instance, VPC: st.VPCs[e.VPC].Name, ENI: e.ID, Subnet: st.Subnets[e.Subnet].Name,
			PrivateIP: e.Identity.Addrs[0].String(), Connectivity: "private",
			ActiveConnectionCount: m.ActiveConnectionCount, ConnectionAttemptCount: m.ConnectionAttemptCount,
			ConnectionEstablishedCount: m.ConnectionEstablishedCount, ErrorPortAllocation: m.ErrorPortAllocation,
			IdleTimeoutCount: m.IdleTimeoutCount, PacketsDropCount: m.PacketsDropCount}
		if e.PublicIP.IsValid() {
			s.ElasticIP, s.Connectivity = e.PublicIP.String(), "public"
		}
		if n, ok := l.Engine.NATMappings(uint32(i)); ok {
			s.Mappings = n
		}
		c := l.Engine.Counters(uint32(i))
		for r := range fabric.NumReasons {
			if n := c.Drops[r].Load(); n > 0 {
				if s.Drops == nil {
					s.Drops = map[string]uint64{}
				}
				s.Drops[fabric.Reason(r).String()] = n
			}
		}
		out = append(out, s)
	}
	return out
}

// writeNATText prints the NAT gateways' lines of `ec2sim status`.
func writeNATText(w io.Writer, gws []NATGatewayStatus, counters bool) {
	if len(gws) == 0 {
		return
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	hdr := "NAT GATEWAY\tENI\tPRIVATE IP\tELASTIC IP\tSUBNET"
	if counters {
		hdr += "\tACTIVE\tATTEMPTS\tIDLE TIMEOUTS\tPORT ERRORS\tDROPS"
	}
	fmt.Fprintln(tw, hdr)
	for _, g := range gws {
		eip := g.ElasticIP
		if eip == "" {
			eip = "- (private)"
		}
		line := fmt.Sprintf("%s/%s\t%s\t%s\t%s\t%s", g.VPC, g.Name, g.ENI, g.PrivateIP, eip, g.Subnet)
		if counters {
			line += fmt.Sprintf("\t%d\t%d\t%d\t%d\t%d", g.ActiveConnectionCount, g.ConnectionAttemptCount, g.IdleTimeoutCount, g.ErrorPortAllocation, g.PacketsDropCount)
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
}

// writeNATMetrics writes the NAT gateways' counters in Prometheus's text format, named after
// AWS's CloudWatch metrics of a NAT gateway.
func (l *Lab) writeNATMetrics(w io.Writer) error {
	gws := l.natGatewayStatus()
	if len(gws) == 0 {
		return nil
	}
	type metric struct {
		name, help, typ string
		val             func(g *NATGatewayStatus) string
	}
	ms := []metric{
		{"ec2sim_natgw_active_connections", "Open TCP connections through the NAT gateway (ActiveConnectionCount).", "gauge", func(g *NATGatewayStatus) string { return fmt.Sprint(g.ActiveConnectionCount) }},
		{"ec2sim_natgw_connection_attempts_total", "SYNs that opened a mapping (ConnectionAttemptCount).", "counter", func(g *NATGatewayStatus) string { return fmt.Sprint(g.ConnectionAttemptCount) }},
		{"ec2sim_natgw_connections_established_total", "SYN-ACKs that answered an attempt (ConnectionEstablishedCount).", "counter", func(g *NATGatewayStatus) string { return fmt.Sprint(g.ConnectionEstablishedCount) }},
		{"ec2sim_natgw_error_port_allocation_total", "Packets that found no free source port (ErrorPortAllocation).", "counter", func(g *NATGatewayStatus) string { return fmt.Sprint(g.ErrorPortAllocation) }},
		{"ec2sim_natgw_idle_timeouts_total", "TCP connections that expired while open (IdleTimeoutCount).", "counter", func(g *NATGatewayStatus) string { return fmt.Sprint(g.IdleTimeoutCount) }},
		{"ec2sim_natgw_packets_dropped_total", "Packets the NAT gateway did not forward (PacketsDropCount).", "counter", func(g *NATGatewayStatus) string { return fmt.Sprint(g.PacketsDropCount) }},
		{"ec2sim_natgw_mappings", "Translations in the NAT gateway's table, expired ones not yet reaped included.", "gauge", func(g *NATGatewayStatus) string { return fmt.Sprint(g.Mappings) }},
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for k := range gws {
			g := &gws[k]
			fmt.Fprintf(&b, "%s{lab=%q,nat_gateway=%q,vpc=%q,eni=%q} %s\n", m.name, l.Plan.Lab, g.Name, g.VPC, g.ENI, m.val(g))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
