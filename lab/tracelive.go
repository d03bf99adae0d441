package lab

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/probe"
)

// LiveTrace is a trace of a real packet: the prediction (trace's Decide on a synthetic packet)
// and what the engine actually decided for the real packet and its reply, hop by hop, with
// every difference between the two.
type LiveTrace struct {
	// SrcPort is the source port the sender's kernel picked (the ICMP echo identifier for
	// icmp); the prediction is made for the same port, so ephemeral-port NACL rules agree.
	SrcPort   uint16             `json:"src_port"`
	Predicted fabric.TraceResult `json:"predicted"`
	// Live is the engine's decisions: Forward is nil when no packet of the exchange reached
	// the engine (the sender's own kernel stopped it), Return when no reply did.
	Live LivePaths `json:"live"`
	// Exchange says what the real client saw (connected and echoed, timed out, ...).
	Exchange    string   `json:"exchange"`
	Completed   bool     `json:"completed"`
	Differences []string `json:"differences,omitempty"`
	Agree       bool     `json:"agree"`
}

// LivePaths are the engine's decisions on the first packet of each direction.
type LivePaths struct {
	Forward *fabric.PathResult `json:"forward,omitempty"`
	Return  *fabric.PathResult `json:"return,omitempty"`
}

// liveTimeout bounds the real exchange; a dropped TCP SYN is retransmitted after 1 s, so the
// first one has been seen long before.
const liveTimeout = 1500 * time.Millisecond

// TraceLive sends a real packet for req (a TCP connection, a UDP datagram or an ICMP echo, as the
// probes do), records the engine's decisions on the first packet each way through the engine's
// observer, and compares them with trace's prediction for the same packet.
func (l *Lab) TraceLive(req TraceRequest) (*LiveTrace, error) {
	return l.traceLive(req, l.Trace)
}

// traceLive is TraceLive with the prediction supplied, so a test can make it disagree.
func (l *Lab) traceLive(req TraceRequest, predict func(TraceRequest) (*fabric.TraceResult, error)) (*LiveTrace, error) {
	spec, err := l.ProbeSpec(req.From, req.To, req.Proto, req.Port, liveTimeout)
	if err != nil {
		return nil, err
	}
	// Check the request the way the prediction will before any packet is sent.
	if _, err := predict(req); err != nil {
		return nil, err
	}
	c, err := l.newCatcher(req, spec)
	if err != nil {
		return nil, err
	}
	remove := l.addObserver(c)
	res, err := probe.Run(spec)
	if err != nil && spec.ToNS != "" {
		// Something already listens on the port (the lab's own service): let it answer.
		spec.ToNS = ""
		res, err = probe.Run(spec)
	}
	remove()
	if err != nil {
		return nil, fmt.Errorf("sending the packet: %w", err)
	}
	lt := &LiveTrace{Exchange: res.Detail, Completed: res.Completed}
	fwd, ret := c.result()
	st := l.Engine.State()
	if fwd != nil {
		lt.SrcPort = fwd.p.SrcPort
		if req.Proto == "icmp" {
			lt.SrcPort = fwd.p.ICMPID
		}
		p := fabric.PathOf(st, &fwd.v)
		lt.Live.Forward = &p
	}
	if ret != nil {
		p := fabric.PathOf(st, &ret.v)
		lt.Live.Return = &p
	}
	// The prediction is made for the same source port, or echo identifier: a NAT gateway's
	// choice of port depends on it.
	preq := req
	preq.SrcPort = lt.SrcPort
	pred, err := predict(preq)
	if err != nil {
		return nil, err
	}
	lt.Predicted = *pred
	lt.Differences = ComparePaths("forward", &pred.Forward, lt.Live.Forward)
	if pred.Forward.Appliance == "" {
		lt.Differences = append(lt.Differences, ComparePaths("return", pred.Return, lt.Live.Return)...)
	}
	lt.Agree = len(lt.Differences) == 0
	return lt, nil
}

// ComparePaths lists how the engine's decisions (live, nil when it saw no packet) differ from
// the predicted ones (nil when none was predicted), hop by hop: stage, outcome, component and
// the rule or route that decided.
func ComparePaths(dir string, pred, live *fabric.PathResult) []string {
	switch {
	case pred == nil && live == nil:
		return nil
	case live == nil:
		return []string{fmt.Sprintf("%s: predicted %s, but no such packet reached the engine", dir, pred.Verdict)}
	case pred == nil:
		return []string{fmt.Sprintf("%s: no packet was predicted, but the engine decided %s", dir, live.Verdict)}
	}
	var out []string
	if pred.Reachable != live.Reachable {
		out = append(out, fmt.Sprintf("%s: predicted %s, the engine decided %s", dir, pred.Verdict, live.Verdict))
	}
	for i := 0; i < max(len(pred.Hops), len(live.Hops)); i++ {
		var p, e *fabric.Hop
		if i < len(pred.Hops) {
			p = &pred.Hops[i]
		}
		if i < len(live.Hops) {
			e = &live.Hops[i]
		}
		if p != nil && e != nil && *p == *e {
			continue
		}
		out = append(out, fmt.Sprintf("%s hop %d: predicted %s, the engine %s", dir, i+1, hopString(p), hopString(e)))
	}
	return out
}

func hopString(h *fabric.Hop) string {
	if h == nil {
		return "(no hop)"
	}
	mark := "ok"
	if !h.OK {
		mark = "DROP"
	}
	return fmt.Sprintf("%s %s at %s: %s", mark, h.Stage, h.Component, h.Detail)
}

// caught is one frame the engine decided, copied out of the packet path.
type caught struct {
	p packet.Parsed
	v fabric.Verdict
}

// catcher is an engine observer that keeps the first frame of a live trace's exchange in each
// direction: the forward packet from the sender's ENI, then the reply to it from the ENI the
// forward packet was delivered to (after any gateway translation).
type catcher struct {
	from     uint32
	src, dst netip.Addr
	proto    uint8
	dport    uint16

	mu       sync.Mutex
	fwd, ret *caught
}

func (l *Lab) newCatcher(req TraceRequest, spec probe.Spec) (*catcher, error) {
	st := l.Engine.State()
	c := &catcher{dst: spec.Dst, dport: uint16(req.Port)}
	switch req.Proto {
	case "tcp":
		c.proto = 6
	case "udp":
		c.proto = 17
	case "icmp":
		c.proto = 1
	}
	if ns, a, ok := l.Plan.HostNamespace(req.From); ok {
		c.src = a
		i, err := hostENI(st, ns)
		if err != nil {
			return nil, err
		}
		c.from = i
		return c, nil
	}
	i, err := l.Plan.eniIndex(st, req.From)
	if err != nil {
		return nil, err
	}
	c.from, c.src = i, st.ENIs[i].Identity.Addrs[0]
	return c, nil
}

// hostENI is the ENI index of the namespace that holds the internet's or an on-premises
// network's hosts.
func hostENI(st *fabric.State, ns string) (uint32, error) {
	for i := range st.ENIs {
		if e := &st.ENIs[i]; e.Present && e.Kind != fabric.KindInstance && e.Instance == ns {
			return uint32(i), nil
		}
	}
	return 0, fmt.Errorf("no attachment for %s in the engine", ns)
}

func (c *catcher) Observe(in uint32, _ []byte, _ packet.VnetHdr, p *packet.Parsed, v *fabric.Verdict, _ int64) {
	if p.Proto != c.proto || (p.Kind != packet.KindIPv4 && p.Kind != packet.KindIPv6) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.fwd == nil:
		if in == c.from && p.Src == c.src && p.Dst == c.dst && c.forwardPorts(p) {
			c.fwd = &caught{p: *p, v: *v}
		}
	case c.ret == nil && c.fwd.v.Action == fabric.Deliver:
		f := &c.fwd.p
		rsrc, rdst := f.Dst, f.Src
		if c.fwd.v.SetDst.IsValid() {
			rsrc = c.fwd.v.SetDst
		}
		if c.fwd.v.SetSrc.IsValid() {
			rdst = c.fwd.v.SetSrc
		}
		if in == c.fwd.v.Out && p.Src == rsrc && p.Dst == rdst && c.replyPorts(p) {
			c.ret = &caught{p: *p, v: *v}
		}
	}
}

func (c *catcher) forwardPorts(p *packet.Parsed) bool {
	if c.proto == 1 {
		return p.HasICMP && p.ICMPType == 8
	}
	return p.HasPorts && p.DstPort == c.dport
}

func (c *catcher) replyPorts(p *packet.Parsed) bool {
	// Through a NAT gateway the reply comes back to the port (identifier) the gateway chose.
	sport, id := c.fwd.p.SrcPort, c.fwd.p.ICMPID
	if port, ok := c.fwd.v.NAT.SourcePort(); ok {
		sport, id = port, port
	}
	if c.proto == 1 {
		return p.HasICMP && p.ICMPType == 0 && p.ICMPID == id
	}
	return p.HasPorts && p.SrcPort == c.fwd.p.DstPort && p.DstPort == sport
}

func (c *catcher) result() (fwd, ret *caught) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fwd, c.ret
}

func init() {
	extraOps["trace-live"] = func(l *Lab, req Request) (any, error) {
		port, _ := strconv.Atoi(req.Args["port"])
		return l.TraceLive(TraceRequest{From: req.Args["from"], To: req.Args["to"], Proto: strings.ToLower(req.Args["proto"]), Port: port})
	}
}
