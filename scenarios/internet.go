package scenarios

import (
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
				h := &Host{Name: name, Pos: d.pos(k)}
				d.object(v, kHost, "internet host "+name, func(f string, _, v *yaml.Node) {
					d.mark(h, f, v)
					if f == "ip" {
						h.IP, _ = d.addr(v, "internet host "+name+": ip")
					}
				})
				in.Hosts = append(in.Hosts, h)
			})
		}
	})
	return in
}

// internetChecks validates the internet's hosts and every public address: documentation
// ranges only, unique, and names that do not collide with instances.
func (v *validator) internetChecks() {
	public := map[string]string{} // address -> who holds it
	if in := v.sc.Internet; in != nil {
		for _, h := range in.Hosts {
			what := "internet host " + h.Name
			if err := checkName(h.Name); err != nil {
				v.p.errorf(h.Pos, "%s: %v", what, err)
			}
			if h.Name == InternetName || v.sc.Instance(h.Name) != nil {
				v.p.errorf(h.Pos, "%s: the name is taken by an instance or reserved; instances and internet hosts share one set of names", what)
			}
			at := v.where(h, "ip", h.Pos)
			switch {
			case !h.IP.IsValid():
			case !InDocumentationRange(h.IP):
				v.p.errorf(at, "%s: ip %s: the simulated internet uses the documentation ranges only: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24", what, h.IP)
			case public[h.IP.String()] != "":
				v.p.errorf(at, "%s: ip %s is already %s's", what, h.IP, public[h.IP.String()])
			default:
				public[h.IP.String()] = what
			}
		}
	}
	for _, in := range v.sc.Instances {
		if in.Name == InternetName {
			v.p.errorf(in.Pos, "instance %s: the name is reserved for the simulated internet", in.Name)
		}
		for k, e := range in.ENIs {
			what := "instance " + in.Name + ": eth" + string(rune('0'+k))
			if e.ElasticIP.IsValid() {
				at := v.where(e, "elastic_ip", e.Pos)
				switch {
				case e.PublicIP:
					v.p.errorf(at, "%s: give public_ip or elastic_ip, not both", what)
				case !InDocumentationRange(e.ElasticIP):
					v.p.errorf(at, "%s: elastic_ip %s: public addresses come from the documentation ranges only: 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24", what, e.ElasticIP)
				case public[e.ElasticIP.String()] != "":
					v.p.errorf(at, "%s: elastic_ip %s is already %s's", what, e.ElasticIP, public[e.ElasticIP.String()])
				default:
					public[e.ElasticIP.String()] = what
				}
			}
			if (e.PublicIP || e.ElasticIP.IsValid()) && !v.vpcHasIGW(e.VPCName()) {
				v.p.warnf(v.where(e, "public_ip", v.where(e, "elastic_ip", e.Pos)), "%s: a public address in VPC %s, which has no internet gateway: it will not reach the internet (AWS allows it)", what, e.VPCName())
			}
		}
	}
}

func (v *validator) vpcHasIGW(name string) bool {
	vpc := v.sc.VPC(name)
	return vpc != nil && vpc.InternetGateway
}

// HasPublicAddress reports whether ENI k of instance in gets a public or Elastic IP: asked for,
// or eth0 in a subnet that maps public IPs on launch.
func (s *Scenario) HasPublicAddress(in *Instance, k int) bool {
	e := in.ENIs[k]
	if e.PublicIP || e.ElasticIP.IsValid() {
		return true
	}
	if k == 0 {
		if sub := s.Subnet(e.Subnet); sub != nil {
			return sub.MapPublicIP
		}
	}
	return false
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
			// An ec2sim test setting, not AWS's; reports of the lab say so.
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
