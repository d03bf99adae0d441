package lab

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
)

// TraceRequest names a packet to trace the way users write probes.
type TraceRequest struct {
	From  string `json:"from"`  // instance or instance.ethN
	To    string `json:"to"`    // instance, instance.ethN or an IP address
	Proto string `json:"proto"` // tcp, udp or icmp
	Port  int    `json:"port"`
	// SrcPort, when set, is the source port to trace with (a live trace passes the one the
	// sender's kernel picked), for icmp the echo identifier; 0 means the low end of the
	// sender's ephemeral range (icmp: identifier 4242).
	SrcPort uint16 `json:"src_port,omitempty"`
}

// eniIndex resolves "instance" or "instance.ethN" in a plan.
func (p *Plan) eniIndex(st *fabric.State, target string) (uint32, error) {
	name, eni, _ := strings.Cut(target, ".")
	ip := p.Instance(name)
	if ip == nil {
		var names []string
		for _, in := range p.Instances {
			names = append(names, in.Name)
		}
		return 0, fmt.Errorf("no instance %q (instances: %s)", name, strings.Join(names, ", "))
	}
	if eni == "" {
		eni = "eth0"
	}
	for _, idx := range ip.ENIs {
		if st.ENIs[idx].Name == eni {
			return idx, nil
		}
	}
	return 0, fmt.Errorf("instance %s has no ENI %q (it has eth0 to eth%d)", name, eni, len(ip.ENIs)-1)
}

// Trace follows req through st (the running engine's snapshot, or a plan's first one).
func (p *Plan) Trace(st *fabric.State, req TraceRequest) (*fabric.TraceResult, error) {
	var from uint32
	var src netip.Addr
	if ns, a, ok := p.HostNamespace(req.From); ok {
		i, err := hostENI(st, ns)
		if err != nil {
			return nil, fmt.Errorf("from %s: %w", req.From, err)
		}
		from, src = i, a
	} else {
		var err error
		if from, err = p.eniIndex(st, req.From); err != nil {
			return nil, err
		}
	}
	dst, err := netip.ParseAddr(req.To)
	if _, a, ok := p.HostNamespace(req.To); ok {
		dst, err = a, nil
	} else if a, ok, perr := p.publicOf(st, req.To); ok {
		if perr != nil {
			return nil, perr
		}
		dst, err = a, nil
	}
	if err != nil {
		idx, ierr := p.eniIndex(st, req.To)
		if ierr != nil {
			return nil, fmt.Errorf("to: want an instance or an IP address: %w", ierr)
		}
		dst = st.ENIs[idx].Identity.Addrs[0]
	}
	// The source port is the low end of the sender's ephemeral range: 32768 for Linux's default
	// (AWS: "many Linux kernels 32768-61000"), or what the instance's kernel is set to in a
	// running lab, so that the NACL ephemeral-port pitfall shows as it happens.
	spec := fabric.TraceSpec{From: from, Src: src, Dst: dst, SrcPort: 32768}
	if p.ephemeral != nil {
		if lo := p.ephemeral(st, from); lo > 0 {
			spec.SrcPort = lo
		}
	}
	switch req.Proto {
	case "tcp", "udp":
		if req.Port < 1 || req.Port > 65535 {
			return nil, fmt.Errorf("port %d: want 1-65535 for %s", req.Port, req.Proto)
		}
		spec.Proto, spec.DstPort = 6, uint16(req.Port)
		if req.Proto == "udp" {
			spec.Proto = 17
		}
	case "icmp":
		spec.Proto, spec.SrcPort = 1, 4242 // the echo identifier, unless req.SrcPort gives one
	default:
		return nil, fmt.Errorf("proto %q: want tcp, udp or icmp", req.Proto)
	}
	if req.SrcPort != 0 {
		spec.SrcPort = req.SrcPort
	}
	if p.nextHop == nil {
		return fabric.Trace(st, spec)
	}
	spec.NextHop = p.nextHop(st, from, dst)
	return fabric.TraceWithRoutes(st, spec, func(eni uint32, d netip.Addr) netip.Addr { return p.nextHop(st, eni, d) })
}

// liveNextHop asks the kernel of the instance behind ENI eni which gateway it uses for dst, so
// that a trace of a running lab follows the instances' own routes (an appliance set up by user
// data, a route a student added by hand) as the packets do.
func liveNextHop(labName string) func(st *fabric.State, eni uint32, dst netip.Addr) netip.Addr {
	return func(st *fabric.State, eni uint32, dst netip.Addr) netip.Addr {
		e := &st.ENIs[eni]
		if e.Kind != fabric.KindInstance {
			return netip.Addr{}
		}
		var gw netip.Addr
		hypervisor.RunIn(hypervisor.NSPath(labName, e.Instance), func() error {
			routes, err := netlink.RouteGet(dst.AsSlice())
			if err == nil && len(routes) > 0 && routes[0].Gw != nil {
				gw, _ = netip.AddrFromSlice(routes[0].Gw.To4())
			}
			return nil
		})
		return gw
	}
}

func init() {
	extraOps["trace"] = func(l *Lab, req Request) (any, error) {
		port, _ := strconv.Atoi(req.Args["port"])
		tr := TraceRequest{From: req.Args["from"], To: req.Args["to"], Proto: req.Args["proto"], Port: port}
		return l.Trace(tr)
	}
}

// decodeResult turns a Response's Result back into v.
func DecodeResult(r *Response, v any) error {
	if r == nil || len(r.Result) == 0 {
		return fmt.Errorf("the engine sent no result")
	}
	return json.Unmarshal(r.Result, v)
}

// liveEphemeral reads the low end of an instance's ephemeral port range from its own kernel.
func liveEphemeral(labName string) func(st *fabric.State, eni uint32) uint16 {
	return func(st *fabric.State, eni uint32) uint16 {
		lo, _ := readEphemeral(labName, st, eni)
		return uint16(lo)
	}
}

// readEphemeral reads the ephemeral port range of the instance behind ENI eni from its own
// kernel; 0, 0 when eni is not an instance's or the kernel's answer makes no sense.
func readEphemeral(labName string, st *fabric.State, eni uint32) (lo, hi int) {
	e := &st.ENIs[eni]
	if e.Kind != fabric.KindInstance {
		return 0, 0
	}
	hypervisor.RunIn(hypervisor.NSPath(labName, e.Instance), func() error {
		b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
		if err == nil {
			fmt.Sscan(string(b), &lo, &hi)
		}
		return nil
	})
	if lo < 1 || lo > 65535 || hi < lo || hi > 65535 {
		return 0, 0
	}
	return lo, hi
}

// EphemeralPorts is the ephemeral source port range of the kernel behind ENI eni in the running
// lab (0, 0 when eni is not an instance's).
func (l *Lab) EphemeralPorts(eni uint32) (lo, hi int) {
	return readEphemeral(l.Plan.Lab, l.Engine.State(), eni)
}

// NextHop is the gateway that the kernel behind ENI eni uses for dst in the running lab (zero
// when it sends to dst directly, or when eni is not an instance's), so that static analyses of
// a running lab follow the instances' own routes as a trace does.
func (l *Lab) NextHop(eni uint32, dst netip.Addr) netip.Addr {
	return liveNextHop(l.Plan.Lab)(l.Engine.State(), eni, dst)
}

// Trace follows req through the running lab's current rules and the instances' own routes and
// ephemeral port ranges.
func (l *Lab) Trace(req TraceRequest) (*fabric.TraceResult, error) {
	p := *l.Plan
	p.nextHop = liveNextHop(l.Plan.Lab)
	p.ephemeral = liveEphemeral(l.Plan.Lab)
	return p.Trace(l.Engine.State(), req)
}
