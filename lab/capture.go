package lab

// Packet capture: what an ENI sends and what is sent to it, seen where the engine decides, so
// that frames the fabric drops appear too, each with its verdict. A capture is one more consumer
// of the lab's observer fan-out (observers.go); the engine pays nothing for it while no capture
// or flow log runs, because the fan-out is installed only while it has consumers.

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/scenarios"
)

// Capture formats.
const (
	// FormatPcapng is pcapng: one interface per ENI, each frame with its direction in the
	// enhanced packet block's flags and its verdict as a comment (Wireshark shows both;
	// tcpdump reads the file and ignores them).
	FormatPcapng = "pcapng"
	// FormatPcap is classic pcap with microsecond timestamps, for tools that predate pcapng; it
	// cannot carry verdicts, which go to CaptureOptions.Verdicts instead.
	FormatPcap = "pcap"
)

// DefaultCaptureQueue is how many bytes of frames may wait between the engine and a capture's
// writer. A slower writer loses frames (counted, and recorded in the file's statistics) rather
// than slowing the engine down.
const DefaultCaptureQueue = 16 << 20

// pcapSnaplen is what a classic pcap header declares: tcpdump's default, more than the largest
// GSO super-frame a TAP hands over, so no frame is ever truncated.
const pcapSnaplen = 262144

// CaptureOptions tune a capture.
type CaptureOptions struct {
	// Format is FormatPcapng ("" means the same) or FormatPcap.
	Format string
	// Verdicts, when set, receives one line per frame: number, time, ENI, direction and
	// verdict (CaptureLine), the companion view of a classic pcap.
	Verdicts io.Writer
	// Count ends the capture after this many frames; 0 means when stopped or when the lab goes
	// down.
	Count int
	// Queue is the bound in bytes of frames waiting for the writer; 0 means
	// DefaultCaptureQueue.
	Queue int
}

// CaptureInterface is one captured ENI as the file names it.
type CaptureInterface struct {
	Name        string `json:"name"`        // INSTANCE.ethN
	ENI         string `json:"eni"`         // the ENI's ID
	Description string `json:"description"` // address and subnet, for the pcapng interface block
}

// CapturedFrame is one frame of a capture.
type CapturedFrame struct {
	Time      time.Time
	Interface int // index into the capture's interfaces
	Outbound  bool
	Comment   string // the verdict, starting with "out" or "in"
	Data      []byte
}

// Capture starts capturing target — INSTANCE, INSTANCE.ethN, an ENI ID, "internet", or several
// of these separated by commas — into w until stop is called, Count frames are written or the
// lab goes down. stop returns the first error writing to w. Frames the ENI sends are captured as
// the instance sent them; frames delivered to it as it receives them (MACs and, through an
// internet gateway, addresses rewritten); frames addressed to it but dropped as they were sent.
func (l *Lab) Capture(target string, w io.Writer, opts CaptureOptions) (stop func() error, err error) {
	c, err := l.startCapture(target, w, opts)
	if err != nil {
		return nil, err
	}
	return c.stop, nil
}

// captureTargets resolves a capture target to ENI indexes and their descriptions.
func (l *Lab) captureTargets(target string) ([]uint32, []CaptureInterface, error) {
	st := l.Engine.State()
	var idx []uint32
	var ifaces []CaptureInterface
	for t := range strings.SplitSeq(target, ",") {
		t = strings.TrimSpace(t)
		i, err := l.captureTarget(st, t)
		if err != nil {
			return nil, nil, err
		}
		dup := false
		for _, j := range idx {
			dup = dup || j == i
		}
		if dup {
			continue
		}
		e := &st.ENIs[i]
		desc := fmt.Sprintf("ec2sim lab %s: %s of %s", l.Plan.Lab, e.ID, e.Instance)
		if e.Kind == fabric.KindInstance {
			desc += fmt.Sprintf(", %s in subnet %s", e.Identity.Addrs[0], st.Subnets[e.Subnet].Name)
		}
		idx = append(idx, i)
		ifaces = append(ifaces, CaptureInterface{Name: e.Instance + "." + e.Name, ENI: e.ID, Description: desc})
	}
	return idx, ifaces, nil
}

func (l *Lab) captureTarget(st *fabric.State, t string) (uint32, error) {
	if t == "" {
		return 0, fmt.Errorf("capture target is empty: want INSTANCE, INSTANCE.ethN, an ENI ID or %s", scenarios.InternetName)
	}
	if t == scenarios.InternetName || t == scenarios.InternetName+".eth0" {
		if st.Internet == fabric.NoENI {
			return 0, fmt.Errorf("lab %s has no internet to capture on", l.Plan.Lab)
		}
		return st.Internet, nil
	}
	if strings.HasPrefix(t, "eni-") {
		for i := range st.ENIs {
			if st.ENIs[i].Present && st.ENIs[i].ID == t {
				return uint32(i), nil
			}
		}
		return 0, fmt.Errorf("no ENI %s in lab %s", t, l.Plan.Lab)
	}
	if i, ok := onPremTarget(st, t); ok {
		return i, nil
	}
	return l.findENILocked(t)
}

// capFrame is a frame on its way from the engine to the writer. The verdict is kept in a few
// fields and turned into text by the writer, off the engine's goroutine.
type capFrame struct {
	data      []byte
	ts        time.Time
	iface     int32
	out       bool
	generated bool // a reply the fabric made (ARP, ICMP fragmentation needed)
	action    fabric.Action
	reason    fabric.Reason
	stage     fabric.Stage
	hasStage  bool
	rule      int32 // the NACL rule of a NACL stage, else -1
	mtu       int
}

// capture is one running capture: an engine observer feeding a writer goroutine.
type capture struct {
	lab     *Lab
	ifaceOf []int32 // by ENI index: the capture's interface, or -1
	frames  chan capFrame
	queued  atomic.Int64 // bytes in frames
	limit   int64
	dropped []atomic.Uint64 // by interface
	stopped atomic.Bool

	out      *CaptureWriter
	count    int
	stopCh   chan struct{}
	stopOnce sync.Once
	done     chan struct{}
	err      error // set before done closes
	remove   func()
}

func (l *Lab) startCapture(target string, w io.Writer, opts CaptureOptions) (*capture, error) {
	idx, ifaces, err := l.captureTargets(target)
	if err != nil {
		return nil, err
	}
	if opts.Count < 0 {
		return nil, fmt.Errorf("capture count %d is negative: want 0 (no limit) or more", opts.Count)
	}
	cw, err := NewCaptureWriter(w, opts.Format, ifaces, opts.Verdicts)
	if err != nil {
		return nil, err
	}
	if err := cw.Flush(); err != nil {
		return nil, err
	}
	c := &capture{
		lab: l, ifaceOf: make([]int32, len(l.Engine.State().ENIs)), limit: int64(opts.Queue),
		dropped: make([]atomic.Uint64, len(idx)), out: cw, count: opts.Count,
		stopCh: make(chan struct{}), done: make(chan struct{}),
		// The channel is sized for small frames; the byte bound is what limits memory.
		frames: make(chan capFrame, 4096),
	}
	if c.limit <= 0 {
		c.limit = DefaultCaptureQueue
	}
	for i := range c.ifaceOf {
		c.ifaceOf[i] = -1
	}
	for k, i := range idx {
		c.ifaceOf[i] = int32(k)
	}
	c.remove = l.addObserver(c)
	go c.run()
	return c, nil
}

func (c *capture) stop() error {
	c.stopOnce.Do(func() { close(c.stopCh) })
	<-c.done
	return c.err
}

// Observe runs on the engine's reader goroutines (several at once): it copies what the capture
// wants and hands it over without ever waiting.
func (c *capture) Observe(in uint32, frame []byte, vnet packet.VnetHdr, p *packet.Parsed, v *fabric.Verdict, now int64) {
	if c.stopped.Load() {
		return
	}
	if int(in) < len(c.ifaceOf) && c.ifaceOf[in] >= 0 {
		k := c.ifaceOf[in]
		c.record(k, true, frame, vnet, p, v, false)
		switch v.Action {
		case fabric.ReplyARP, fabric.ReplyFragNeeded, fabric.ReplyReset:
			c.recordReply(k, in, frame, p, v)
		}
	}
	// A frame counts as sent to an ENI when the fabric chose it as the destination, also when a
	// later stage dropped it: the NACL of its subnet, its destination check or its groups.
	dst := v.Out
	if v.Action == fabric.Drop && dst == fabric.NoENI && v.NSteps > 0 {
		if s := v.Steps[v.NSteps-1].ENI; s != in {
			dst = s
		}
	}
	if int(dst) < len(c.ifaceOf) && c.ifaceOf[dst] >= 0 {
		c.record(c.ifaceOf[dst], false, frame, vnet, p, v, v.Action == fabric.Deliver)
	}
}

// record queues a copy of frame; rewrite applies what the engine does to a delivered frame, so
// that the receiver's side shows what the receiver gets.
func (c *capture) record(k int32, out bool, frame []byte, vnet packet.VnetHdr, p *packet.Parsed, v *fabric.Verdict, rewrite bool) {
	f := capFrame{iface: k, out: out, action: v.Action, reason: v.Reason, rule: -1}
	if v.NSteps > 0 {
		s := &v.Steps[v.NSteps-1]
		f.stage, f.hasStage = s.Stage, true
		if s.Stage == fabric.StageNACLOut || s.Stage == fabric.StageNACLIn {
			f.rule = s.Rule
		}
	}
	if v.Action == fabric.ReplyFragNeeded {
		f.mtu = v.MTU
	}
	if !c.reserve(k, len(frame)) {
		return
	}
	f.data = append([]byte(nil), frame...)
	if rewrite {
		if v.RewriteMACs {
			packet.SetMACs(f.data, packet.MAC(v.DstMAC), packet.MAC(v.SrcMAC))
		}
		// On a copy of the parsed view: the engine still needs the original after us.
		pc := *p
		fabric.Translate(f.data, &pc, vnet, v)
	}
	c.send(f)
}

// recordReply captures the answer the fabric writes back on the sender's port (the engine does
// not observe frames it makes itself), built by the same functions the engine uses.
func (c *capture) recordReply(k int32, in uint32, frame []byte, p *packet.Parsed, v *fabric.Verdict) {
	f := capFrame{iface: k, generated: true, action: v.Action, rule: -1, mtu: v.MTU}
	buf := make([]byte, packet.EthHdrLen+256)
	var n int
	switch v.Action {
	case fabric.ReplyARP:
		n = packet.BuildARPReply(buf, p, packet.MAC(v.ARPAnswer))
	case fabric.ReplyReset:
		// A NAT gateway's RST after an idle timeout, from the router's MAC.
		st := c.lab.Engine.State()
		n = packet.BuildTCPReset(buf, frame, p, packet.MAC(st.VPCs[st.ENIs[in].VPC].RouterMAC))
	default:
		st := c.lab.Engine.State()
		sub := &st.Subnets[st.ENIs[in].Subnet]
		n = packet.BuildICMPFragNeeded(buf, frame, p, packet.MAC(st.VPCs[sub.VPC].RouterMAC), sub.Router, v.MTU)
	}
	if n == 0 || !c.reserve(k, n) {
		return
	}
	f.data = buf[:n]
	c.send(f)
}

// reserve accounts n bytes against the queue's bound, or counts a drop.
func (c *capture) reserve(k int32, n int) bool {
	if c.queued.Add(int64(n)) > c.limit {
		c.queued.Add(-int64(n))
		c.dropped[k].Add(1)
		return false
	}
	return true
}

func (c *capture) send(f capFrame) {
	f.ts = time.Now()
	select {
	case c.frames <- f:
	default:
		c.queued.Add(-int64(len(f.data)))
		c.dropped[f.iface].Add(1)
	}
}

// run writes frames until stopped, Count is reached, the lab goes down or a write fails.
func (c *capture) run() {
	defer close(c.done)
	written := make([]uint64, len(c.dropped))
	n := 0
	var err error
	write := func(f *capFrame) {
		c.queued.Add(-int64(len(f.data)))
		if err != nil {
			return
		}
		err = c.out.Write(&CapturedFrame{Time: f.ts, Interface: int(f.iface), Outbound: f.out, Comment: f.comment(), Data: f.data})
		written[f.iface]++
		n++
	}
	full := func() bool { return c.count > 0 && n >= c.count }
loop:
	for err == nil && !full() {
		select {
		case f := <-c.frames:
			write(&f)
			// Flush when the queue is empty, so a live reader (tcpdump -r -) sees frames at
			// once, while a burst still goes out in few writes.
			if len(c.frames) == 0 && err == nil {
				err = c.out.Flush()
			}
		case <-c.stopCh:
			break loop
		case <-c.lab.Done():
			break loop
		}
	}
	c.stopped.Store(true)
	c.remove()
	// Frames already queued when the capture was stopped were seen before it: keep them.
	for err == nil && !full() && len(c.frames) > 0 {
		f := <-c.frames
		write(&f)
	}
	dropped := make([]uint64, len(c.dropped))
	for i := range dropped {
		dropped[i] = c.dropped[i].Load()
	}
	if cerr := c.out.Close(written, dropped); err == nil {
		err = cerr
	}
	c.err = err
}

// comment is the verdict as the pcapng comment and the companion view give it:
// "out deliver", "in drop security-group-ingress stage sg-ingress",
// "in drop network-acl-inbound stage nacl-inbound rule *", "in generated arp-reply".
func (f *capFrame) comment() string {
	var b strings.Builder
	if f.out {
		b.WriteString("out ")
	} else {
		b.WriteString("in ")
	}
	if f.generated {
		b.WriteString("generated ")
	}
	b.WriteString(f.action.String())
	if !f.generated && f.action != fabric.Deliver {
		b.WriteString(" ")
		b.WriteString(f.reason.String())
		if f.hasStage {
			b.WriteString(" stage ")
			b.WriteString(f.stage.String())
		}
		switch {
		case f.rule == 32767 || f.rule == 32768:
			b.WriteString(" rule *")
		case f.rule >= 0:
			b.WriteString(" rule ")
			b.WriteString(strconv.Itoa(int(f.rule)))
		}
	}
	if f.mtu > 0 {
		b.WriteString(" mtu ")
		b.WriteString(strconv.Itoa(f.mtu))
	}
	return b.String()
}

// CaptureWriter writes captured frames as pcapng or classic pcap, with the companion text view
// when asked. The daemon writes captures with it, and `ec2sim capture` re-writes what it
// receives with it (to count frames, and to turn the stream into classic pcap).
type CaptureWriter struct {
	ifaces   []CaptureInterface
	ng       *pcapgo.NgWriter
	pcap     *pcapgo.Writer
	buf      *bufio.Writer // under pcap, which does not buffer by itself
	verdicts io.Writer
	start    time.Time
	n        int
}

// NewCaptureWriter writes the file's header (and for pcapng one interface block per ENI) to w.
func NewCaptureWriter(w io.Writer, format string, ifaces []CaptureInterface, verdicts io.Writer) (*CaptureWriter, error) {
	if len(ifaces) == 0 {
		return nil, errors.New("capture has no interfaces")
	}
	cw := &CaptureWriter{ifaces: ifaces, verdicts: verdicts, start: time.Now()}
	switch format {
	case "", FormatPcapng:
		opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{Application: "ec2sim capture", OS: "linux"}}
		ng, err := pcapgo.NewNgWriterInterface(w, ngInterface(ifaces[0]), opts)
		if err != nil {
			return nil, err
		}
		for _, i := range ifaces[1:] {
			if _, err := ng.AddInterface(ngInterface(i)); err != nil {
				return nil, err
			}
		}
		cw.ng = ng
	case FormatPcap:
		cw.buf = bufio.NewWriterSize(w, 64<<10)
		cw.pcap = pcapgo.NewWriter(cw.buf)
		if err := cw.pcap.WriteFileHeader(pcapSnaplen, layers.LinkTypeEthernet); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("capture format %q: want %s or %s", format, FormatPcapng, FormatPcap)
	}
	return cw, nil
}

// ngInterface describes an ENI as a pcapng interface: the name shows in Wireshark's interface
// column and tshark's frame.interface_name.
func ngInterface(i CaptureInterface) pcapgo.NgInterface {
	return pcapgo.NgInterface{
		Name: i.Name + " " + i.ENI, Description: i.Description, OS: "linux",
		LinkType: layers.LinkTypeEthernet, TimestampResolution: 9,
	}
}

// SplitInterfaceName undoes ngInterface's naming: "web-1.eth0 eni-..." gives the ENI's name
// and ID.
func SplitInterfaceName(s string) CaptureInterface {
	name, eni, _ := strings.Cut(s, " ")
	return CaptureInterface{Name: name, ENI: eni}
}

// Write adds one frame.
func (cw *CaptureWriter) Write(f *CapturedFrame) error {
	if f.Interface < 0 || f.Interface >= len(cw.ifaces) {
		return fmt.Errorf("captured frame on interface %d: the capture has %d", f.Interface, len(cw.ifaces))
	}
	cw.n++
	ci := gopacket.CaptureInfo{Timestamp: f.Time, CaptureLength: len(f.Data), Length: len(f.Data), InterfaceIndex: f.Interface}
	var err error
	if cw.ng != nil {
		dir := pcapgo.NgEpbFlagDirectionInbound
		if f.Outbound {
			dir = pcapgo.NgEpbFlagDirectionOutbound
		}
		opts := pcapgo.NgPacketOptions{Flags: &pcapgo.NgEpbFlags{Direction: dir}}
		if f.Comment != "" {
			opts.Comments = []string{f.Comment}
		}
		err = cw.ng.WritePacketWithOptions(ci, f.Data, opts)
	} else {
		ci.InterfaceIndex = 0
		err = cw.pcap.WritePacket(ci, f.Data)
	}
	if err == nil && cw.verdicts != nil {
		_, err = io.WriteString(cw.verdicts, CaptureLine(cw.n, f.Time, cw.ifaces[f.Interface].Name, f.Comment))
	}
	return err
}

// NextCapturedFrame reads the next frame of a pcapng capture, with the verdict and direction
// that CaptureWriter stored in it; io.EOF ends the stream.
func NextCapturedFrame(r *pcapgo.NgReader) (*CapturedFrame, error) {
	data, ci, opts, err := r.ReadPacketDataWithOptions()
	if err != nil {
		return nil, err
	}
	f := &CapturedFrame{Time: ci.Timestamp, Interface: ci.InterfaceIndex, Data: data}
	if len(opts.Comments) > 0 {
		f.Comment = opts.Comments[0]
	}
	if opts.Flags != nil {
		f.Outbound = opts.Flags.Direction == pcapgo.NgEpbFlagDirectionOutbound
	}
	return f, nil
}

// CaptureLine is one line of the companion view: the frame's number (as tcpdump -# counts),
// its time as tcpdump prints it, the ENI and the verdict.
func CaptureLine(n int, t time.Time, iface, comment string) string {
	return fmt.Sprintf("%d %s %s %s\n", n, t.Format("15:04:05.000000"), iface, comment)
}

// Flush writes out buffered frames.
func (cw *CaptureWriter) Flush() error {
	if cw.ng != nil {
		return cw.ng.Flush()
	}
	return cw.buf.Flush()
}

// Close ends the capture: for pcapng it records, per interface, the frames written and those
// lost because the writer fell behind (interface statistics blocks, which capinfos and
// Wireshark show); it flushes in every format.
func (cw *CaptureWriter) Close(written, dropped []uint64) error {
	if cw.ng != nil {
		now := time.Now()
		for i := range cw.ifaces {
			st := pcapgo.NgInterfaceStatistics{LastUpdate: now, StartTime: cw.start, EndTime: now,
				PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: pcapgo.NgNoValue64}
			if i < len(written) {
				st.PacketsReceived = written[i]
			}
			if i < len(dropped) {
				st.PacketsDropped = dropped[i]
			}
			if err := cw.ng.WriteInterfaceStats(i, st); err != nil {
				return err
			}
		}
	}
	return cw.Flush()
}

func init() { streamOps["capture"] = serveCapture }

// serveCapture is the daemon's "capture" operation (Args: target, format, count). It answers
// with one JSON line — a Response whose Result lists the captured interfaces — and then streams
// the capture until the client closes its side (a half-close lets the client read the final
// statistics), the lab goes down or Count frames are sent.
func serveCapture(l *Lab, req Request, conn net.Conn) error {
	target := req.Args["target"]
	if target == "" {
		target = req.Target
	}
	opts := CaptureOptions{Format: req.Args["format"]}
	if s := req.Args["count"]; s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			return fmt.Errorf("capture count %q: want a number of frames, 0 or more", s)
		}
		opts.Count = n
	}
	if f := opts.Format; f != "" && f != FormatPcapng && f != FormatPcap {
		return fmt.Errorf("capture format %q: want %s or %s", f, FormatPcapng, FormatPcap)
	}
	_, ifaces, err := l.captureTargets(target)
	if err != nil {
		return err
	}
	b, _ := json.Marshal(ifaces)
	if err := json.NewEncoder(conn).Encode(Response{OK: true, Result: b}); err != nil {
		return nil
	}
	hangup := make(chan struct{})
	go func() {
		io.Copy(io.Discard, conn)
		close(hangup)
	}()
	c, err := l.startCapture(target, conn, opts)
	if err != nil {
		return nil // after the answer, only closing the stream can report it
	}
	select {
	case <-hangup:
	case <-c.done:
	}
	// A client that stopped reading must not hold the capture's end forever.
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	c.stop()
	return nil
}
