package scenarios

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ec2sim/ec2sim/flowlog"
)

// checkFlowFormat checks a custom flow-log format with the flow-log package's own parser, so
// that a file is refused for exactly the formats the engine would refuse.
func checkFlowFormat(s string) error {
	_, err := flowlog.ParseFormat(s)
	return err
}

// The simulated internet, internet gateways and public addresses (aws-semantics.md §1.5).

func (d *decoder) internet(k, n *yaml.Node) *Internet {
	in := &Internet{Pos: d.pos(k)}
	d.object(n, kInternet, "internet", func(field string, _, v *yaml.Node) {
		d.mark(in, field, v)
		if field == "hosts" {
			d.namedMap(v, "internet: hosts", func(name string, k, v *yaml.Node) {
				in.Hosts = append(in.Hosts, d.host("internet host "+name, name, k, v))
			})
		}
	})
	return in
}

// host decodes a host of the internet or of an on-premises network: its bare address
// (client: 203.0.113.10) or a mapping ({ip: 203.0.113.10}).
func (d *decoder) host(what, name string, k, n *yaml.Node) *Host {
	h := &Host{Name: name, Pos: d.pos(k)}
	switch r := d.resolve(n); r.Kind {
	case yaml.ScalarNode:
		d.mark(h, "ip", r)
		h.IP, _ = d.addr(r, what)
		return h
	case yaml.MappingNode:
	default:
		d.p.errorf(d.pos(r), "%s: want an address such as 203.0.113.10, or {ip: ADDRESS}, not %s", what, describe(r))
		return h
	}
	d.object(n, kHost, what, func(f string, _, v *yaml.Node) {
		d.mark(h, f, v)
		if f == "ip" {
			h.IP, _ = d.addr(v, what+": ip")
		}
	})
	return h
}

// internetChecks validates the internet's hosts and every public address (internet hosts,
// Elastic IPs of ENIs and NAT gateways): documentation ranges only, each used once, and public
// IPs where AWS assigns them.
func (v *validator) internetChecks() {
	type holder struct {
		what string
		line int
	}
	public := map[netip.Addr]holder{}
	claim := func(what, field string, a netip.Addr, at Pos) {
		switch h, taken := public[a]; {
		case !a.IsValid():
		case !InDocumentationRange(a):
			v.p.errorf(at, "%s: %s %s: the simulated internet uses the documentation ranges only: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24", what, field, a)
		case taken:
			v.p.errorf(at, "%s: %s %s is already used by %s (line %d); a public address has one holder (Resource.AlreadyAssociated)", what, field, a, h.what, h.line)
		default:
			public[a] = holder{what, at.Line}
		}
	}
	if in := v.sc.Internet; in != nil {
		for _, h := range in.Hosts {
			what := "internet host " + h.Name
			if err := checkName(h.Name); err != nil {
				v.p.errorf(h.Pos, "internet host name: %v", err)
			}
			claim(what, "ip", h.IP, v.where(h, "ip", h.Pos))
		}
	}
	for _, in := range v.sc.Instances {
		for k, e := range in.ENIs {
			what := fmt.Sprintf("instance %s: eth%d", in.Name, k)
			pubAt := v.where(e, "public_ip", e.Pos)
			switch {
			case e.PublicIP && e.ElasticIP.IsValid():
				v.p.errorf(v.where(e, "elastic_ip", e.Pos), "%s: give public_ip or elastic_ip, not both (an Elastic IP replaces the automatic public IP)", what)
			case e.PublicIP && k > 0:
				v.p.errorf(pubAt, "%s: public_ip: AWS assigns an automatic public IP to eth0 only; give eth%d an elastic_ip instead", what, k)
			case e.PublicIP && len(in.ENIs) > 1:
				v.p.errorf(pubAt, "%s: public_ip: AWS assigns no automatic public IP to an instance launched with more than one network interface (it has %d); give eth0 an elastic_ip instead", what, len(in.ENIs))
			}
			claim(what, "elastic_ip", e.ElasticIP, v.where(e, "elastic_ip", e.Pos))
			if (e.PublicIP || e.ElasticIP.IsValid()) && !v.vpcHasIGW(e.VPCName()) && v.sc.VPC(e.VPCName()) != nil {
				v.p.warnf(v.where(e, "public_ip", v.where(e, "elastic_ip", e.Pos)), "%s: a public address in VPC %s, which has no internet gateway: it will not reach the internet (AWS allows it)", what, e.VPCName())
			}
		}
	}
	for _, vpc := range v.sc.VPCs {
		for _, g := range vpc.NATGateways {
			claim("NAT gateway "+g.Qualified(), "elastic_ip", g.ElasticIP, v.where(g, "elastic_ip", g.Pos))
		}
	}
}

func (v *validator) vpcHasIGW(name string) bool {
	vpc := v.sc.VPC(name)
	return vpc != nil && vpc.InternetGateway
}

// HasPublicAddress reports whether ENI k of instance in has a public or Elastic IP. After Parse,
// PublicIP already says whether the subnet's map_public_ip_on_launch gave it one.
func (s *Scenario) HasPublicAddress(in *Instance, k int) bool {
	if k < 0 || k >= len(in.ENIs) {
		return false
	}
	e := in.ENIs[k]
	return e.PublicIP || e.ElasticIP.IsValid()
}

// splitPublic splits "instance@public" into the instance and whether the public address is meant.
func splitPublic(s string) (string, bool) {
	if name, ok := strings.CutSuffix(s, "@public"); ok {
		return name, true
	}
	return s, false
}

// flowLogChecks validates flow logs: the resource exists, the traffic type, window and
// destination are AWS's (or ec2sim's test window), and a custom format names known fields.
func (v *validator) flowLogChecks() {
	for _, fl := range v.sc.FlowLogs {
		what := "flow log " + fl.Name
		if err := checkName(fl.Name); err != nil {
			v.p.errorf(fl.Pos, "%s: %v", what, err)
		}
		at := v.where(fl, "resource", fl.Pos)
		kind, rest, _ := strings.Cut(fl.Resource, "/")
		switch kind {
		case "vpc":
			if v.sc.VPC(rest) == nil {
				v.p.errorf(at, "%s: resource %q: no VPC %q", what, fl.Resource, rest)
			}
		case "subnet":
			if v.sc.Subnet(rest) == nil {
				v.p.errorf(at, "%s: resource %q: no subnet %q (write subnet/VPC/NAME)", what, fl.Resource, rest)
			}
		case "eni":
			inst, eth, err := splitTarget(rest)
			if err != nil {
				v.p.errorf(at, "%s: resource %q: %v", what, fl.Resource, err)
			} else if in := v.sc.Instance(inst); in == nil || eth >= len(in.ENIs) {
				v.p.errorf(at, "%s: resource %q: no such instance ENI", what, fl.Resource)
			}
		default:
			v.p.errorf(at, "%s: resource %q: want vpc/NAME, subnet/VPC/NAME or eni/INSTANCE[.ethN]", what, fl.Resource)
		}
		switch fl.Traffic {
		case "ACCEPT", "REJECT", "ALL":
		default:
			v.p.errorf(v.where(fl, "traffic", fl.Pos), "%s: traffic %q: want ACCEPT, REJECT or ALL", what, fl.Traffic)
		}
		switch s := fl.Interval; {
		case s == 0, s == 60*time.Second, s == 600*time.Second:
		case s >= time.Second && s < 60*time.Second && s%time.Second == 0:
			v.p.warnf(v.where(fl, "interval", fl.Pos), "%s: interval %s is an ec2sim test setting; AWS offers 60s and 600s", what, s)
		default:
			v.p.errorf(v.where(fl, "interval", fl.Pos), "%s: interval %s: want 60s or 600s (AWS), or 1s-59s in whole seconds (ec2sim's test setting)", what, s)
		}
		if fl.Destination != "text" && fl.Destination != "jsonl" {
			v.p.errorf(v.where(fl, "destination", fl.Pos), "%s: destination %q: want text or jsonl", what, fl.Destination)
		}
		if fl.Format != "" {
			if err := checkFlowFormat(fl.Format); err != nil {
				v.p.errorf(v.where(fl, "format", fl.Pos), "%s: %v", what, err)
			}
		}
	}
}
