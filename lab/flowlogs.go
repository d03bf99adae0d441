package lab

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/flowlog"
)

// FlowLogSpec creates a flow log, in the terms `ec2sim flowlog create` and scenario files use.
type FlowLogSpec struct {
	// Resource is vpc/NAME, subnet/VPC/NAME or eni/INSTANCE[.ethN].
	Resource string `json:"resource"`
	// Traffic is ACCEPT, REJECT or ALL ("" = ALL).
	Traffic string `json:"traffic,omitempty"`
	// Interval is the aggregation window: 60s or 600s as on AWS (both give 60 s on Nitro), or
	// 1s-59s, an ec2sim setting for tests.
	Interval time.Duration `json:"interval,omitempty"`
	// Format is a custom format in AWS's syntax; "" is the default (version 2) format.
	Format string `json:"format,omitempty"`
	// Path is the file the records go to; "" picks one in the lab's directory.
	Path string `json:"path,omitempty"`
	// JSON writes JSON lines instead of AWS's space-separated text.
	JSON bool `json:"json,omitempty"`
	// Name, when given (a scenario's flow log), names the file: NAME.log.
	Name string `json:"name,omitempty"`
}

// FlowLogInfo describes an active flow log.
type FlowLogInfo struct {
	ID       string `json:"id"`
	Name     string `json:"name,omitempty"`
	Resource string `json:"resource"`
	Traffic  string `json:"traffic"`
	Window   string `json:"window"`
	Format   string `json:"format"`
	Path     string `json:"path"`
}

// activeLog is one flow log with the ENIs it covers.
type activeLog struct {
	info   FlowLogInfo
	log    *flowlog.Log
	covers []bool // by ENI index
}

// flowLogs is a lab's flow logs: an engine observer that turns every decided packet into
// flow-log observations, and a ticker that closes capture windows.
type flowLogs struct {
	lab  *Lab
	enis []flowlog.ENI // by ENI index, built once: the flow log's view of each ENI

	mu   sync.Mutex // guards changes to logs and the ticker
	logs atomic.Pointer[[]*activeLog]
	next int
	stop chan struct{}
}

// flowENIs builds the flow-log description of every ENI of st.
func flowENIs(st *fabric.State, plan *Plan) []flowlog.ENI {
	out := make([]flowlog.ENI, len(st.ENIs))
	for i := range st.ENIs {
		e := &st.ENIs[i]
		if e.Kind != fabric.KindInstance && e.Kind != fabric.KindNATGW {
			continue
		}
		sub := &st.Subnets[e.Subnet]
		vpc := &st.VPCs[e.VPC]
		instance := "" // a NAT gateway's ENI is requester-managed: instance-id "-"
		if e.Kind == fabric.KindInstance {
			instance = plan.Instance(e.Instance).ID
		}
		out[i] = flowlog.ENI{
			InterfaceID: e.ID, AccountID: "123456789010", InstanceID: instance,
			VPCID: vpc.ID, SubnetID: sub.ID, PrimaryIPv4: e.Identity.Addrs[0],
			Region: "us-east-1", AZID: "use1-az1",
			Exempt: flowlog.Exemptions{AmazonDNS: vpc.CIDR.Masked().Addr().Next().Next(), Router: sub.Router},
		}
	}
	return out
}

// resolveResource turns vpc/NAME, subnet/VPC/NAME or eni/TARGET into the flow log's resource.
func (l *Lab) resolveResource(r string) (flowlog.ResourceType, string, error) {
	st := l.Engine.State()
	kind, rest, _ := strings.Cut(r, "/")
	switch kind {
	case "vpc":
		for _, v := range st.VPCs {
			if v.Name == rest || v.ID == rest {
				return flowlog.ResourceVPC, v.ID, nil
			}
		}
	case "subnet":
		for _, s := range st.Subnets {
			if s.Name == rest || s.ID == rest {
				return flowlog.ResourceSubnet, s.ID, nil
			}
		}
	case "eni":
		if idx, err := natGatewayByName(st, rest); err == nil {
			return flowlog.ResourceENI, st.ENIs[idx].ID, nil // a NAT gateway's ENI
		}
		idx, err := l.findENILocked(rest)
		if err != nil {
			return "", "", err
		}
		return flowlog.ResourceENI, st.ENIs[idx].ID, nil
	}
	return "", "", fmt.Errorf("flow log resource %q: want vpc/NAME, subnet/VPC/NAME, eni/INSTANCE[.ethN] or eni/NAT-GATEWAY", r)
}

// CreateFlowLog starts a flow log on a running lab. Like AWS's, a flow log cannot be changed
// once created; delete it and create another.
func (l *Lab) CreateFlowLog(spec FlowLogSpec) (FlowLogInfo, error) {
	rt, rid, err := l.resolveResource(spec.Resource)
	if err != nil {
		return FlowLogInfo{}, err
	}
	fl := l.flowLogs()
	fl.mu.Lock()
	defer fl.mu.Unlock()
	fl.next++
	id := awsID("fl", l.Plan.Lab, fmt.Sprint(fl.next))
	cfg := flowlog.Config{ID: id, ResourceType: rt, ResourceID: rid, TrafficType: flowlog.TrafficType(strings.ToUpper(spec.Traffic)), LogFormat: spec.Format}
	switch {
	case spec.Interval == 0 || spec.Interval == 60*time.Second:
		cfg.MaxAggregationInterval = 60
	case spec.Interval == 600*time.Second:
		cfg.MaxAggregationInterval = 600
	default:
		cfg.TestAggregationInterval = spec.Interval
	}
	path := spec.Path
	if path == "" {
		base := id
		if spec.Name != "" {
			base = spec.Name
		}
		path = filepath.Join(l.flowLogDir(), base+".log")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return FlowLogInfo{}, err
	}
	cfg.Destination = flowlog.Destination{Path: path, Encoding: flowlog.EncodingText}
	if spec.JSON {
		cfg.Destination.Encoding = flowlog.EncodingJSON
	}
	lg, err := flowlog.Open(cfg, l.clock().Now)
	if err != nil {
		return FlowLogInfo{}, err
	}
	a := &activeLog{log: lg, covers: make([]bool, len(fl.enis))}
	for i := range fl.enis {
		if fl.enis[i].InterfaceID != "" && cfg.Covers(&fl.enis[i]) {
			a.covers[i] = true
			lg.Watch(&fl.enis[i])
		}
	}
	a.info = FlowLogInfo{ID: id, Name: spec.Name, Resource: spec.Resource, Traffic: string(cfg.TrafficType), Window: cfg.Window().String(), Format: lg.Format().String(), Path: path}
	if a.info.Traffic == "" {
		a.info.Traffic = "ALL"
	}
	logs := append(append([]*activeLog(nil), fl.current()...), a)
	fl.logs.Store(&logs)
	if fl.stop == nil {
		fl.stop = make(chan struct{})
		go fl.tick(fl.stop)
	}
	return a.info, nil
}

// DeleteFlowLog stops a flow log, flushing what it holds.
func (l *Lab) DeleteFlowLog(id string) error {
	fl := l.flowLogs()
	fl.mu.Lock()
	defer fl.mu.Unlock()
	var keep []*activeLog
	var found *activeLog
	for _, a := range fl.current() {
		if a.info.ID == id || (a.info.Name != "" && a.info.Name == id) {
			found = a
			continue
		}
		keep = append(keep, a)
	}
	if found == nil {
		return fmt.Errorf("no flow log %q", id)
	}
	fl.logs.Store(&keep)
	return found.log.Close(l.clock().Now())
}

// FlowLogList lists the active flow logs.
func (l *Lab) FlowLogList() []FlowLogInfo {
	var out []FlowLogInfo
	for _, a := range l.flowLogs().current() {
		out = append(out, a.info)
	}
	return out
}

func (fl *flowLogs) current() []*activeLog {
	if p := fl.logs.Load(); p != nil {
		return *p
	}
	return nil
}

// flowLogs returns the lab's flow-log set, making it (and registering its observer) on first use.
func (l *Lab) flowLogs() *flowLogs {
	l.flowOnce.Do(func() {
		l.flows = &flowLogs{lab: l, enis: flowENIs(l.Engine.State(), l.Plan)}
		l.addObserver(l.flows)
	})
	return l.flows
}

func (l *Lab) flowLogDir() string {
	if l.FlowLogDir != "" {
		return l.FlowLogDir
	}
	if l.Plan.FlowLogDir != "" {
		return l.Plan.FlowLogDir
	}
	return filepath.Join(Dir(l.Plan.Lab), "flowlogs")
}

// tick closes capture windows every lab second (at most every 20 ms real time); AWS publishes a
// window's records when it ends.
func (fl *flowLogs) tick(stop chan struct{}) {
	c := fl.lab.clock()
	t := time.NewTicker(max(c.Real(time.Second), 20*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-fl.lab.done:
			return
		case <-t.C:
			now := c.Now()
			for _, a := range fl.current() {
				a.log.Tick(now)
			}
		}
	}
}

// close flushes and closes every flow log.
func (fl *flowLogs) close() error {
	fl.mu.Lock()
	defer fl.mu.Unlock()
	if fl.stop != nil {
		close(fl.stop)
		fl.stop = nil
	}
	var errs []error
	for _, a := range fl.current() {
		errs = append(errs, a.log.Close(fl.lab.clock().Now()))
	}
	empty := []*activeLog{}
	fl.logs.Store(&empty)
	return errors.Join(errs...)
}

// Observe turns a decided packet into observations for the logs that cover its ENIs.
func (fl *flowLogs) Observe(in uint32, frame []byte, vnet packet.VnetHdr, p *packet.Parsed, v *fabric.Verdict, now int64) {
	logs := fl.current()
	if len(logs) == 0 {
		return
	}
	var ev [fabric.MaxFlowEvents]fabric.FlowEvent
	n := fabric.FlowEvents(fl.lab.Engine.State(), p, v, &ev)
	if n == 0 {
		return
	}
	// A GSO super-frame stands for as many packets as it will be cut into on the wire.
	packets := uint32(1)
	if vnet.IsGSO() && vnet.GSOSize > 0 {
		payload := len(frame) - int(vnet.HdrLen)
		packets = uint32((payload + int(vnet.GSOSize) - 1) / int(vnet.GSOSize))
	}
	ipLen := uint64(len(frame) - packet.EthHdrLen)
	// One clock read per frame, not per log and direction: reading the wall clock was the
	// largest part of the observer's cost per packet (make bench's flowlog figure).
	seen := time.Now()
	for k := 0; k < n; k++ {
		e := &ev[k]
		o := flowlog.Observation{
			ENI:            &fl.enis[e.ENI],
			Tuple:          flowlog.Tuple{Src: e.Src, Dst: e.Dst, Proto: p.Proto},
			Packets:        packets,
			Bytes:          ipLen,
			TCPHeaderFlags: p.TCPFlags,
			Action:         flowlog.Reject,
			Direction:      flowlog.Ingress,
			Time:           seen,
		}
		if p.HasPorts {
			o.Tuple.SrcPort, o.Tuple.DstPort = p.SrcPort, p.DstPort
		}
		if e.Ports {
			o.Tuple.SrcPort, o.Tuple.DstPort = e.SrcPort, e.DstPort
		}
		if e.Accept {
			o.Action = flowlog.Accept
		}
		if e.Egress {
			o.Direction, o.TrafficPath = flowlog.Egress, flowlog.TrafficPath(e.TrafficPath)
		}
		for _, a := range logs {
			if int(e.ENI) < len(a.covers) && a.covers[e.ENI] {
				a.log.Record(&o)
			}
		}
	}
}

var _ fabric.Observer = (*flowLogs)(nil)

func init() {
	extraOps["flowlog-create"] = func(l *Lab, req Request) (any, error) {
		spec := FlowLogSpec{Resource: req.Args["resource"], Traffic: req.Args["traffic"], Format: req.Args["format"], Path: req.Args["path"], JSON: req.Args["json"] == "true"}
		if s := req.Args["interval"]; s != "" {
			d, err := time.ParseDuration(s)
			if err != nil {
				return nil, fmt.Errorf("interval %q: want a duration such as 60s, 600s or (for tests) 1s-59s", s)
			}
			spec.Interval = d
		}
		return l.CreateFlowLog(spec)
	}
	extraOps["flowlog-delete"] = func(l *Lab, req Request) (any, error) {
		return nil, l.DeleteFlowLog(req.Args["id"])
	}
	extraOps["flowlog-list"] = func(l *Lab, req Request) (any, error) {
		list := l.FlowLogList()
		if list == nil {
			list = []FlowLogInfo{}
		}
		return list, nil
	}
}
