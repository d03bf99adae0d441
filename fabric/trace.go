package fabric

import (
	"fmt"
	"io"
	"net/netip"

	"github.com/ec2sim/ec2sim/fabric/natgw"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/sgengine"
)

// TraceSpec is the packet a trace follows: from an ENI (an instance's, or the internet's
// attachment with Src naming the host) to an address.
type TraceSpec struct {
	From    uint32
	Src     netip.Addr // zero: the ENI's primary address
	Dst     netip.Addr
	Proto   uint8 // 6, 17, 1
	SrcPort uint16
	DstPort uint16
	// NextHop, when valid, is the gateway the sender's own routing table picks for Dst (a
	// running lab asks the instance's kernel): an appliance in the subnet, or the VPC router.
	// When zero, the sender uses the router for other subnets and the neighbour itself inside
	// its subnet, as an instance with the default routes does.
	NextHop netip.Addr
}

// Hop is one stage of a traced path.
type Hop struct {
	Stage     string `json:"stage"`
	OK        bool   `json:"ok"`
	Component string `json:"component"` // eni-..., acl-..., rtb-..., sg on an ENI
	Detail    string `json:"detail"`    // the rule, route or check that decided
	Code      string `json:"code,omitempty"`
}

// Blocker is one component that blocks the path, found by evaluating every component on the
// path whatever the others say (as Reachability Analyzer's blocked paths do), not only the
// first that drops.
type Blocker struct {
	Code      string `json:"code"`
	Component string `json:"component"`
	Detail    string `json:"detail"`
}

// PathResult is one direction of a trace.
type PathResult struct {
	Reachable bool `json:"reachable"`
	// Appliance is set when the path ends at an instance that does not hold the destination (a
	// router, firewall or NAT instance with its source/dest check off): what that instance's
	// kernel does next (forward, masquerade) is not traced.
	Appliance string    `json:"appliance,omitempty"`
	Hops      []Hop     `json:"hops"`
	Blockers  []Blocker `json:"blockers,omitempty"`
	Verdict   string    `json:"verdict"`
}

// TraceResult is a forward path and, when the forward path is reachable, the return path of
// the reply, evaluated with the conntrack entries the forward packet would create.
type TraceResult struct {
	Forward PathResult  `json:"forward"`
	Return  *PathResult `json:"return,omitempty"`
}

// ExplanationCode names a drop reason the way Reachability Analyzer's explanation codes do.
// Codes that Reachability Analyzer has no equivalent for start with EC2SIM_.
func ExplanationCode(r Reason) string {
	switch r {
	case ReasonSGEgress, ReasonSGIngress:
		return "ENI_SG_RULES_MISMATCH"
	case ReasonNACLOutbound, ReasonNACLInbound:
		return "SUBNET_ACL_RESTRICTION"
	case ReasonNoRoute, ReasonNoDestination:
		return "CANNOT_ROUTE"
	case ReasonBlackhole:
		return "BAD_STATE_ROUTE"
	case ReasonGateway:
		return "BAD_STATE_ATTACHMENT"
	case ReasonNoPublicIP:
		return "IGW_PRIVATE_IP_ASSOCIATION_FOR_INGRESS"
	case ReasonBadSourceIP, ReasonBadDestIP:
		return "EC2SIM_SOURCE_DEST_CHECK"
	case ReasonBadSourceMAC:
		return "EC2SIM_SPOOFED_MAC"
	case ReasonConntrackAllowance:
		return "EC2SIM_CONNTRACK_ALLOWANCE_EXCEEDED"
	case ReasonTooBig:
		return "EC2SIM_MTU_EXCEEDED"
	case ReasonNone, ReasonDelivered, ReasonARPAnswered:
		return ""
	}
	return "EC2SIM_" + upper(r.String())
}

func upper(s string) string {
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z':
			b[i] = c - 32
		case c == '-':
			b[i] = '_'
		}
	}
	return string(b)
}

// synthetic builds the parsed headers of the packet a TraceSpec describes, as the sending
// kernel would put them on the wire: to the neighbour's MAC inside a subnet, to the router's
// MAC otherwise.
func synthetic(st *State, s TraceSpec, flags uint8) (packet.Parsed, error) {
	var p packet.Parsed
	if int(s.From) >= len(st.ENIs) || !st.ENIs[s.From].Present {
		return p, fmt.Errorf("no ENI with index %d", s.From)
	}
	e := &st.ENIs[s.From]
	src := s.Src
	if !src.IsValid() {
		src = e.Identity.Addrs[0]
	}
	p.Kind = packet.KindIPv4
	if src.Is6() {
		p.Kind = packet.KindIPv6
	}
	p.SrcMAC = packet.MAC(e.Identity.MAC)
	p.Src, p.Dst, p.Proto, p.TTL, p.TotalLen = src, s.Dst, s.Proto, 64, 60
	switch {
	case e.Kind == KindInternet:
		p.DstMAC = packet.MAC(st.IGWMAC)
	case e.Kind == KindOnPrem:
		if oi, ok := onPremOf(st, s.From); ok {
			p.DstMAC = packet.MAC(st.OnPrem[oi].MAC)
		}
	default:
		p.DstMAC = packet.MAC(st.VPCs[e.VPC].RouterMAC)
		hop := s.Dst
		if s.NextHop.IsValid() {
			hop = s.NextHop
		}
		if i, ok := st.VPCs[e.VPC].byIP[hop]; ok && st.ENIs[i].Subnet == e.Subnet {
			p.DstMAC = packet.MAC(st.ENIs[i].Identity.MAC)
		}
	}
	switch s.Proto {
	case 6, 17:
		p.HasPorts, p.SrcPort, p.DstPort = true, s.SrcPort, s.DstPort
		if s.Proto == 6 {
			p.TCPFlags = flags
		}
	case 1:
		p.HasICMP, p.ICMPType, p.ICMPID = true, 8, s.SrcPort
		if flags == replyFlags {
			p.ICMPType = 0
		}
	}
	return p, nil
}

const (
	synFlags   = sgengine.TCPSyn
	replyFlags = sgengine.TCPSyn | sgengine.TCPAck
)

// Trace follows a packet through the same Decide the engine runs, on scratch conntrack tables
// (nothing the engine holds is changed), and, when it arrives, follows the reply back.
func Trace(st *State, s TraceSpec) (*TraceResult, error) {
	return TraceWithRoutes(st, s, nil)
}

// TraceWithRoutes is Trace with the senders' own routing: nextHop(eni, dst) returns the gateway
// the kernel behind ENI eni uses for dst (zero for none), for the reply's sender. The forward
// packet's next hop is s.NextHop.
func TraceWithRoutes(st *State, s TraceSpec, nextHop func(eni uint32, dst netip.Addr) netip.Addr) (*TraceResult, error) {
	tables := make([]*sgengine.Conntrack, len(st.ENIs))
	for i := range tables {
		tables[i] = sgengine.NewConntrack()
	}
	tr := &Tracking{Tables: tables, NAT: NewNATTables(st), Now: 1}
	p, err := synthetic(st, s, synFlags)
	if err != nil {
		return nil, err
	}
	var v Verdict
	Decide(&p, s.From, st, tr, &v)
	res := &TraceResult{Forward: pathResult(st, &v)}
	if res.Forward.Reachable && atAppliance(st, &p, &v) {
		res.Forward.Appliance = eniName(st, v.Out)
		res.Forward.Verdict = "delivered to the appliance " + res.Forward.Appliance + "; its forwarding is not traced"
		return res, nil
	}
	if !res.Forward.Reachable {
		res.Forward.Blockers = blockers(st, &p, s.From, &v, tr)
		return res, nil
	}
	applyForward(tr, s.From, &v)
	back := replySpec(st, s, &p, &v, nextHop)
	rp, err := synthetic(st, back, replyFlags)
	if err != nil {
		return nil, err
	}
	var rv Verdict
	tr.Now = 2
	Decide(&rp, back.From, st, tr, &rv)
	ret := pathResult(st, &rv)
	if !ret.Reachable {
		ret.Blockers = blockers(st, &rp, back.From, &rv, tr)
	}
	res.Return = &ret
	return res, nil
}

// PathOf turns a verdict the engine reached on a real frame into the hops a trace shows, so that
// a live trace can set the engine's decisions next to the prediction.
func PathOf(st *State, v *Verdict) PathResult { return pathResult(st, v) }

// replySpec is the reply as the receiver's kernel sends it: from the address it saw the packet
// arrive on to the address it came from (after the gateway's translation, if any), out of the
// ENI the kernel's routes pick for that address (replyENI).
func replySpec(st *State, s TraceSpec, p *packet.Parsed, v *Verdict, nextHop func(eni uint32, dst netip.Addr) netip.Addr) TraceSpec {
	back := TraceSpec{From: v.Out, Src: p.Dst, Dst: p.Src, Proto: s.Proto, SrcPort: s.DstPort, DstPort: s.SrcPort}
	if v.SetSrc.IsValid() {
		back.Dst = v.SetSrc
	}
	back.From = replyENI(st, v.Out, back.Dst)
	if nextHop != nil {
		back.NextHop = nextHop(back.From, back.Dst)
	}
	if v.SetDst.IsValid() {
		back.Src = v.SetDst
	}
	if s.Proto == 1 {
		back.SrcPort = s.SrcPort
	}
	natReturn(&back, v)
	return back
}

// replyENI is the ENI a multi-homed instance answers from when a packet for it arrived on ENI
// at: as its kernel routes the reply to dst, not necessarily the ENI the request came in on.
// Each ENI has the connected route of its subnet, and eth0 alone carries the default route
// (lab plans ENISpec.Default for eth0), so the reply leaves the ENI whose subnet holds dst
// (the most specific, at on a tie) or else eth0. The reply keeps the address the request was
// sent to, so an answer that leaves another ENI with the check on is dropped as spoofed, as the
// engine drops the real one. A lab plans an instance's ENIs next to each other, which bounds
// the search; routes that user data adds are not seen here (a running lab's nextHop is asked
// for the gateway only).
func replyENI(st *State, at uint32, dst netip.Addr) uint32 {
	e := &st.ENIs[at]
	if e.Kind != KindInstance {
		return at
	}
	lo, hi := at, at
	for lo > 0 && st.ENIs[lo-1].Kind == KindInstance && st.ENIs[lo-1].Instance == e.Instance {
		lo--
	}
	for int(hi)+1 < len(st.ENIs) && st.ENIs[hi+1].Kind == KindInstance && st.ENIs[hi+1].Instance == e.Instance {
		hi++
	}
	if lo == hi {
		return at
	}
	best, bits, eth0 := NoENI, -1, NoENI
	for i := lo; i <= hi; i++ {
		c := &st.ENIs[i]
		if !c.Present {
			continue
		}
		if c.Name == "eth0" {
			eth0 = i
		}
		if cidr := st.Subnets[c.Subnet].CIDR; cidr.Contains(dst) && (cidr.Bits() > bits || (cidr.Bits() == bits && i == at)) {
			best, bits = i, cidr.Bits()
		}
	}
	switch {
	case best != NoENI:
		return best
	case eth0 != NoENI:
		return eth0
	}
	return at
}

// atAppliance reports whether a delivered packet went to an instance that does not hold its
// (translated) destination.
func atAppliance(st *State, p *packet.Parsed, v *Verdict) bool {
	if st.ENIs[v.Out].Kind != KindInstance {
		return false
	}
	dst := p.Dst
	if v.SetDst.IsValid() {
		dst = v.SetDst
	}
	return !st.ENIs[v.Out].Identity.Owns(dst)
}

// applyForward applies the conntrack updates of a delivered forward packet to the scratch
// tables, so that the reply is judged as the tracked reply it is.
func applyForward(tr *Tracking, from uint32, v *Verdict) {
	if v.EgressDone {
		tr.Tables[from].Apply(&v.Egress.Update, tr.Now)
	}
	if v.IngressDone {
		tr.Tables[v.Out].Apply(&v.Ingress.Update, tr.Now)
	}
	if v.NAT.Done {
		applyNAT(tr, v)
	}
}

// Outcome is a trace without its explanation: what the static analyser needs of each of the
// many packets it follows.
type Outcome struct {
	// Forward: the packet is delivered; Return: so is the reply (false when not evaluated).
	Forward, Return bool
	// Appliance: the packet is delivered to an instance that does not hold the destination;
	// its forwarding is not traced, and Return is not evaluated.
	Appliance bool
	// Out is the ENI the forward packet was delivered to, or NoENI.
	Out uint32
	// Reason is the drop reason of the direction that failed.
	Reason Reason
}

// TraceScratch is the reusable memory of QuickTrace: one conntrack slot per ENI, of which only
// the sender's and the receiver's are ever filled, with two tables reset between packets. Not
// safe for concurrent use.
type TraceScratch struct {
	tables   []*sgengine.Conntrack
	from, to *sgengine.Conntrack
	// other is the table of the ENI a multi-homed receiver answers from when that is not the
	// one the request arrived on (replyENI).
	other *sgengine.Conntrack
	// nat are the NAT gateways' scratch tables (natgwstage.go), made again after a packet
	// used them.
	nat []*natgw.Table
	// NextHop, when set, is the reply sender's own routing, as for TraceWithRoutes.
	NextHop func(eni uint32, dst netip.Addr) netip.Addr
}

// receiver guesses the ENI a packet from ENI from to dst is delivered to, so that its table is
// in place before Decide runs: the holder of dst in the sender's VPC, the holder of a public
// address for the internet's packets, else the internet. A wrong guess costs a second Decide.
func receiver(st *State, from uint32, dst netip.Addr) uint32 {
	e := &st.ENIs[from]
	if e.Kind == KindInternet {
		if i, ok := st.public[dst]; ok {
			return i
		}
		return NoENI
	}
	if i, ok := st.VPCs[e.VPC].byIP[dst]; ok {
		return i
	}
	return st.Internet
}

// QuickTrace is TraceWithRoutes without hops, blockers or strings: the same Decide on the same
// synthetic packets with scratch conntrack, and the same reply, for callers that follow many
// packets and explain only a few of them (with Trace).
func QuickTrace(st *State, s TraceSpec, sc *TraceScratch) (Outcome, error) {
	out := Outcome{Out: NoENI}
	p, err := synthetic(st, s, synFlags)
	if err != nil {
		return out, err
	}
	if len(sc.tables) != len(st.ENIs) {
		sc.tables = make([]*sgengine.Conntrack, len(st.ENIs))
		sc.from, sc.to = sgengine.NewConntrack(), sgengine.NewConntrack()
	}
	tables := sc.tables
	defer func() {
		clear(tables)
		sc.from.Reset()
		sc.to.Reset()
	}()
	tables[s.From] = sc.from
	if r := receiver(st, s.From, s.Dst); r != NoENI && r != s.From {
		tables[r] = sc.to
	}
	tr := &Tracking{Tables: tables, NAT: sc.natTables(st), Now: 1}
	var v Verdict
	Decide(&p, s.From, st, tr, &v)
	if v.NAT.Via {
		sc.nat = nil // the forward packet's mapping must not outlive this trace
	}
	if v.IngressDone && tables[v.Out] == nil {
		// The receiver's update must be computed against the table it will be applied to.
		clear(tables)
		tables[s.From], tables[v.Out] = sc.from, sc.to
		Decide(&p, s.From, st, tr, &v)
	}
	out.Forward, out.Out = v.Action == Deliver, v.Out
	if !out.Forward {
		out.Reason = v.Reason
		return out, nil
	}
	if atAppliance(st, &p, &v) {
		out.Appliance = true
		return out, nil
	}
	applyForward(tr, s.From, &v)
	back := replySpec(st, s, &p, &v, sc.NextHop)
	if tables[back.From] == nil {
		// A multi-homed receiver answering out of another ENI: that ENI tracks nothing of
		// this flow yet.
		if sc.other == nil {
			sc.other = sgengine.NewConntrack()
		}
		tables[back.From] = sc.other
		defer sc.other.Reset()
	}
	rp, err := synthetic(st, back, replyFlags)
	if err != nil {
		return out, err
	}
	var rv Verdict
	tr.Now = 2
	Decide(&rp, back.From, st, tr, &rv)
	out.Return = rv.Action == Deliver
	out.Reason = rv.Reason
	return out, nil
}

// appendACLBlocker appends subnet sub's network ACL to out as a blocker when it denies f
// outbound (egress) or inbound: blockers evaluate every component on their own, whatever the
// others say.
func appendACLBlocker(out []Blocker, st *State, sub uint32, egress bool, f *sgengine.Flow) []Blocker {
	s := &st.Subnets[sub]
	ok, rule := st.ACLs[s.ACL].Evaluate(egress, f)
	if ok {
		return out
	}
	r, dir := ReasonNACLInbound, "inbound"
	if egress {
		r, dir = ReasonNACLOutbound, "outbound"
	}
	return append(out, Blocker{Code: ExplanationCode(r), Component: fmt.Sprintf("network ACL %s of subnet %s", st.ACLs[s.ACL].Name, s.Name),
		Detail: fmt.Sprintf("%s rule %s denies", dir, ruleNum(rule))})
}

// pathResult turns a verdict's steps into hops.
func pathResult(st *State, v *Verdict) PathResult {
	r := PathResult{Reachable: v.Action == Deliver, Verdict: v.Action.String()}
	if v.Action == Drop {
		r.Verdict = "drop: " + v.Reason.String()
	}
	for _, s := range v.Steps[:v.NSteps] {
		h := Hop{Stage: s.Stage.String(), OK: s.OK, Component: component(st, s), Detail: detail(st, v, s)}
		if !s.OK {
			h.Code = ExplanationCode(s.Reason)
		}
		r.Hops = append(r.Hops, h)
	}
	return r
}

func eniName(st *State, i uint32) string {
	if int(i) >= len(st.ENIs) {
		return "-"
	}
	e := &st.ENIs[i]
	switch e.Kind {
	case KindInternet:
		return "internet"
	case KindOnPrem:
		return "on-prem network " + e.Instance
	}
	if e.Kind == KindNATGW {
		return natName(st, i)
	}
	return fmt.Sprintf("%s.%s (%s)", e.Instance, e.Name, e.ID)
}

func component(st *State, s Step) string {
	switch s.Stage {
	case StageNACLOut, StageNACLIn:
		if int(s.Where) < len(st.Subnets) {
			sub := &st.Subnets[s.Where]
			a := &st.ACLs[sub.ACL]
			return fmt.Sprintf("network ACL %s (%s) of subnet %s", a.Name, a.ID, sub.Name)
		}
	case StageRoute:
		if s.Rule >= 0 && int(s.Where) < len(st.Subnets) {
			sub := &st.Subnets[s.Where]
			t := &st.RouteTables[sub.RouteTable]
			return fmt.Sprintf("route table %s (%s) of subnet %s", t.Name, t.ID, sub.Name)
		}
	case StageIGW:
		return "internet gateway"
	case StageVGW:
		return vgwName(st, s)
	case StageNATGW:
		return natName(st, s.ENI)
	}
	return eniName(st, s.ENI)
}

func detail(st *State, v *Verdict, s Step) string {
	switch s.Stage {
	case StageNACLOut, StageNACLIn:
		verb := "allowed by"
		if !s.OK {
			verb = "denied by"
		}
		if s.Rule >= 32767 {
			return verb + " rule * (no rule matched)"
		}
		return fmt.Sprintf("%s rule %d", verb, s.Rule)
	case StageRoute:
		if s.Rule >= 0 && int(s.Where) < len(st.Subnets) {
			rt := &st.RouteTables[st.Subnets[s.Where].RouteTable]
			if int(s.Rule) < len(rt.Routes) {
				r := &rt.Routes[s.Rule]
				name := r.Name
				if name == "" {
					name = r.Kind.String()
				}
				return fmt.Sprintf("%s -> %s", r.Dest, name)
			}
		}
	case StageNATGW:
		return natDetail(st, v, s)
	case StageSGEgress:
		return ruleDetail(st, &v.Egress, s.OK)
	case StageSGIngress:
		return ruleDetail(st, &v.Ingress, s.OK)
	}
	if !s.OK || s.Reason != ReasonNone {
		return s.Reason.String()
	}
	return "ok"
}

func ruleDetail(st *State, d *sgengine.Decision, ok bool) string {
	if !ok {
		return "no rule of the ENI's security groups allows it (" + d.Reason.String() + ")"
	}
	if st.SG != nil && d.Rule.Valid() {
		if info, found := st.SG.Rule(d.Rule); found {
			return fmt.Sprintf("%s: %s", d.Reason, info)
		}
	}
	tracked := "tracked"
	if d.Untracked {
		tracked = "untracked"
	}
	return fmt.Sprintf("%s (%s)", d.Reason, tracked)
}

// blockers evaluates every component of the path independently: the sender's groups, its
// subnet's route and outbound ACL, the destination's inbound ACL, source/destination check and
// groups, on the trace's scratch conntrack (a reply is judged as the tracked reply it is). The
// destination is the ENI that holds the address in the sender's VPC.
func blockers(st *State, p *packet.Parsed, in uint32, v *Verdict, tr *Tracking) []Blocker {
	var out []Blocker
	add := func(r Reason, comp, det string) {
		out = append(out, Blocker{Code: ExplanationCode(r), Component: comp, Detail: det})
	}
	src := &st.ENIs[in]
	if v.NAT.Via {
		return natBlockers(st, p, in, v, tr)
	}
	if src.Kind != KindInstance {
		// From the internet there is one path: report what Decide found.
		s := v.Steps[v.NSteps-1]
		add(s.Reason, component(st, s), detail(st, v, s))
		return out
	}
	var f sgengine.Flow
	flowOf(p, &f)
	if src.Identity.CheckSource(mac.HW(p.SrcMAC), p.Src) != mac.OK {
		add(ReasonBadSourceIP, eniName(st, in), "the source is not the ENI's address and its source/dest check is on")
	}
	if st.SG != nil {
		if d := st.SG.Egress(in, &f, tr.table(in), tr.Now); !d.Allowed {
			add(ReasonSGEgress, "security groups of "+eniName(st, in), "no outbound rule allows it")
		}
	}
	sub := &st.Subnets[src.Subnet]
	rt := &st.RouteTables[sub.RouteTable]
	ri := rt.Lookup(p.Dst)
	dst, known := st.VPCs[src.VPC].byIP[p.Dst]
	if ri >= 0 && rt.Routes[ri].Kind == TargetPeering {
		dst, known = peerDestination(st, src.VPC, &rt.Routes[ri], p.Dst)
		if !known {
			add(ReasonOutsidePeerVPC, fmt.Sprintf("route table %s (%s)", rt.Name, rt.ID), fmt.Sprintf("%s -> %s: %s is not an address of the peer VPC; a peering is not transitive", rt.Routes[ri].Dest, rt.Routes[ri].Name, p.Dst))
		}
	}
	switch {
	case ri < 0:
		add(ReasonNoRoute, fmt.Sprintf("route table %s (%s)", rt.Name, rt.ID), fmt.Sprintf("no route matches %s", p.Dst))
	case rt.Routes[ri].Kind == TargetBlackhole:
		add(ReasonBlackhole, fmt.Sprintf("route table %s (%s)", rt.Name, rt.ID), fmt.Sprintf("%s is a blackhole", rt.Routes[ri].Dest))
	case rt.Routes[ri].Kind == TargetLocal && !known:
		add(ReasonNoDestination, fmt.Sprintf("route table %s (%s)", rt.Name, rt.ID), fmt.Sprintf("no ENI holds %s", p.Dst))
	}
	if ri >= 0 && (rt.Routes[ri].Kind == TargetIGW || rt.Routes[ri].Kind == TargetVGW) {
		// Leaving through a gateway crosses the subnet's boundary: its outbound ACL applies.
		out = appendACLBlocker(out, st, src.Subnet, true, &f)
	}
	if !known {
		if len(out) == 0 {
			s := v.Steps[v.NSteps-1]
			add(s.Reason, component(st, s), detail(st, v, s))
		}
		return out
	}
	if to := st.ENIs[dst].Subnet; to != src.Subnet {
		out = appendACLBlocker(out, st, src.Subnet, true, &f)
		out = appendACLBlocker(out, st, to, false, &f)
	}
	if st.SG != nil {
		if d := st.SG.Ingress(dst, &f, tr.table(dst), tr.Now); !d.Allowed {
			add(ReasonSGIngress, "security groups of "+eniName(st, dst), "no inbound rule allows it")
		}
	}
	if len(out) == 0 {
		// Something outside the independent checks stopped it (an appliance's check, the MAC
		// path); report what Decide found.
		s := v.Steps[v.NSteps-1]
		add(s.Reason, component(st, s), detail(st, v, s))
	}
	return out
}

func ruleNum(n int) string {
	if n >= 32767 {
		return "*"
	}
	return fmt.Sprint(n)
}

// WriteText prints one direction of a trace for a person: each hop with its verdict, the rule,
// route or check that decided and Reachability Analyzer's code, then every blocking component.
// `ec2sim trace` and the scenario runner's failure reports print paths with it.
func (p *PathResult) WriteText(w io.Writer, name string) {
	fmt.Fprintf(w, "%s path: %s\n", name, p.Verdict)
	for _, h := range p.Hops {
		mark := "ok  "
		if !h.OK {
			mark = "DROP"
		}
		fmt.Fprintf(w, "  %s %-17s %s: %s", mark, h.Stage, h.Component, h.Detail)
		if h.Code != "" {
			fmt.Fprintf(w, " [%s]", h.Code)
		}
		fmt.Fprintln(w)
	}
	if len(p.Blockers) > 0 {
		fmt.Fprintf(w, "  blocked by %d component(s):\n", len(p.Blockers))
		for _, b := range p.Blockers {
			fmt.Fprintf(w, "    %s  %s: %s\n", b.Code, b.Component, b.Detail)
		}
	}
}
