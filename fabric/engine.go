package fabric

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/sgengine"
)

// Port is one ENI's attachment to the engine: a TAP device opened with IFF_VNET_HDR in production,
// a channel-backed fake in unit tests. Every Read returns one frame preceded by its
// packet.VnetHdrLen-byte virtio header; every Write takes the same layout.
type Port interface {
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	Close() error
}

// bufSize holds the largest GSO super-frame a TAP hands over: the vnet header, 64 KiB of IP and the
// Ethernet header, with room to spare.
const bufSize = packet.VnetHdrLen + 65535 + 14 + 256

// Observer sees every frame the engine has decided, before the verdict is applied: flow logs and
// packet capture hang here. Observe runs on the reader goroutine of the ingress port, so it must be
// quick and must not keep frame or p after it returns. The frame is the Ethernet frame as the
// instance sent it, before any rewrite.
type Observer interface {
	Observe(in uint32, frame []byte, vnet packet.VnetHdr, p *packet.Parsed, v *Verdict, now int64)
}

// Counters are one ENI's packet counters, updated atomically by the engine.
type Counters struct {
	RxPackets, RxBytes atomic.Uint64 // frames the ENI sent into the fabric
	TxPackets, TxBytes atomic.Uint64 // frames the fabric delivered to the ENI
	Drops              [NumReasons]atomic.Uint64
	WriteErrors        atomic.Uint64
}

// Engine moves frames between ENI ports and applies Decide's verdicts. One goroutine reads each
// port; it decides and writes to the destination port itself, so a frame crosses the engine with
// one read and one write and no hand-off between goroutines.
type Engine struct {
	state atomic.Pointer[State]
	clock atomic.Pointer[func() int64]
	// tracking holds one conntrack table per ENI index; tables outlive snapshots, which is what
	// keeps tracked flows alive across rule changes.
	tracking Tracking
	observer atomic.Pointer[observerBox]
	stopReap chan struct{}
	stopOnce sync.Once

	mu       sync.Mutex // guards ports and wg additions
	ports    atomic.Pointer[[]Port]
	counters []Counters
	busyPoll atomic.Int64 // nanoseconds; see DefaultBusyPoll
	wg       sync.WaitGroup
}

// NewEngine makes an engine over st with room for counters of every ENI index st has.
func NewEngine(st *State) *Engine {
	e := &Engine{counters: make([]Counters, len(st.ENIs)), stopReap: make(chan struct{})}
	e.state.Store(st)
	e.busyPoll.Store(int64(DefaultBusyPoll))
	e.tracking.Tables = make([]*sgengine.Conntrack, len(st.ENIs))
	for i := range e.tracking.Tables {
		e.tracking.Tables[i] = sgengine.NewConntrack()
	}
	e.tracking.NAT = NewNATTables(st)
	start := time.Now()
	mono := func() int64 { return int64(time.Since(start)) }
	e.clock.Store(&mono)
	go e.reaper()
	ports := make([]Port, len(st.ENIs))
	e.ports.Store(&ports)
	return e
}

// SetClock replaces the engine's clock (nanoseconds, monotonic); tests and lab clocks that run
// faster than real time use it. Conntrack timestamps already taken stay as they are.
func (e *Engine) SetClock(now func() int64) { e.clock.Store(&now) }

// SetBusyPoll sets how long a pump may keep reading its port after it ran dry before it sleeps
// (0: never); running pumps take it up at their next frame. See DefaultBusyPoll.
func (e *Engine) SetBusyPoll(d time.Duration) { e.busyPoll.Store(int64(max(d, 0))) }

// BusyPoll is the current busy-poll setting.
func (e *Engine) BusyPoll() time.Duration { return time.Duration(e.busyPoll.Load()) }

// Now reads the engine's clock.
func (e *Engine) Now() int64 { return (*e.clock.Load())() }

// Conntrack returns ENI i's connection-tracking table.
func (e *Engine) Conntrack(i uint32) *sgengine.Conntrack { return e.tracking.Tables[i] }

// Tracking returns the conntrack state at the engine's current time, for trace-style callers of
// Decide that must see what the engine sees.
func (e *Engine) Tracking() *Tracking {
	return &Tracking{Tables: e.tracking.Tables, NAT: e.tracking.NAT, Now: e.Now()}
}

// reapInterval is how often expired conntrack entries are swept besides the amortised reaping
// on insert, so that idle tables shrink and counts shown by status stay honest.
const reapInterval = 5 * time.Second

func (e *Engine) reaper() {
	t := time.NewTicker(reapInterval)
	defer t.Stop()
	for {
		select {
		case <-e.stopReap:
			return
		case <-t.C:
			now := e.Now()
			for _, ct := range e.tracking.Tables {
				ct.Reap(now, 1<<16)
			}
			for _, t := range e.tracking.NAT {
				if t != nil {
					t.Reap(now, 1<<16)
				}
			}
		}
	}
}

type observerBox struct{ o Observer }

// SetObserver installs o (nil removes it). One observer sees every frame; a lab that needs
// several (flow logs and captures) fans out behind it.
func (e *Engine) SetObserver(o Observer) {
	if o == nil {
		e.observer.Store(nil)
		return
	}
	e.observer.Store(&observerBox{o})
}

// State returns the current snapshot.
func (e *Engine) State() *State { return e.state.Load() }

// Publish replaces the snapshot; packets already being decided finish against the old one.
func (e *Engine) Publish(st *State) error {
	if len(st.ENIs) > len(e.counters) {
		return fmt.Errorf("snapshot has %d ENIs, engine was made for %d", len(st.ENIs), len(e.counters))
	}
	e.state.Store(st)
	return nil
}

// Counters returns the counters of ENI i.
func (e *Engine) Counters(i uint32) *Counters { return &e.counters[i] }

// Attach connects ENI i to port p and starts reading it. The engine owns p from then on and closes
// it on Detach or Close.
func (e *Engine) Attach(i uint32, p Port) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	old := *e.ports.Load()
	if int(i) >= len(old) {
		return fmt.Errorf("ENI index %d out of range (%d)", i, len(old))
	}
	if old[i] != nil {
		return fmt.Errorf("ENI index %d already has a port", i)
	}
	ports := append([]Port(nil), old...)
	ports[i] = p
	e.ports.Store(&ports)
	e.wg.Add(1)
	go e.pump(i, p)
	return nil
}

// Detach closes ENI i's port, which ends its reader.
func (e *Engine) Detach(i uint32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.detachLocked(i)
}

func (e *Engine) detachLocked(i uint32) error {
	old := *e.ports.Load()
	if int(i) >= len(old) || old[i] == nil {
		return nil
	}
	ports := append([]Port(nil), old...)
	p := ports[i]
	ports[i] = nil
	e.ports.Store(&ports)
	return p.Close()
}

// Close detaches every port and waits for the readers to end.
func (e *Engine) Close() error {
	e.mu.Lock()
	old := *e.ports.Load()
	empty := make([]Port, len(old))
	e.ports.Store(&empty)
	e.mu.Unlock()
	// Close every port at once: closing a TAP waits for the kernel to unregister the device
	// (tens of milliseconds each), which one at a time would make a large lab slow to go down.
	errs := make([]error, len(old))
	var wg sync.WaitGroup
	for i, p := range old {
		if p == nil {
			continue
		}
		wg.Add(1)
		go func() { defer wg.Done(); errs[i] = p.Close() }()
	}
	wg.Wait()
	e.wg.Wait()
	e.stopOnce.Do(func() { close(e.stopReap) })
	return errors.Join(errs...)
}

// Translate applies a verdict's address translation (the internet gateway's one-to-one NAT, a
// NAT gateway's addresses and ports) to
// frame in place and keeps p true to it. An ICMP error quotes the packet it is about: its inner
// addresses are translated too, or the receiver's kernel cannot match the error to its
// connection (PMTUD, port unreachable through the gateway). The engine and packet capture share
// it, so a captured copy is the frame the instance gets.
func Translate(frame []byte, p *packet.Parsed, vh packet.VnetHdr, v *Verdict) {
	if v.SetSrc.IsValid() {
		if p.HasInner {
			packet.RewriteICMPInnerDst(frame, p, vh, v.SetSrc)
		}
		packet.RewriteIPv4Src(frame, p, vh, v.SetSrc)
	}
	if v.SetDst.IsValid() {
		if p.HasInner {
			packet.RewriteICMPInnerSrc(frame, p, vh, v.SetDst)
		}
		packet.RewriteIPv4Dst(frame, p, vh, v.SetDst)
	}
	if v.NAT.Rewrite != natNone {
		// The NAT gateway's port (or ICMP identifier), outbound or back.
		translateNATPorts(frame, p, vh, &v.NAT)
	}
}

// pump is the reader of one port.
func (e *Engine) pump(i uint32, p Port) {
	defer e.wg.Done()
	buf := make([]byte, bufSize)
	reply := make([]byte, packet.VnetHdrLen+256)
	var pkt packet.Parsed
	var v Verdict
	var tr Tracking
	c := &e.counters[i]
	read := p.Read
	if fr, ok := newFastReader(p); ok {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		now := time.Now()
		sp := &spinner{budget: e.BusyPoll(), idleAt: now, yieldAt: now}
		read = func(b []byte) (int, error) { return fr.read(b, sp, e.BusyPoll()) }
	}
	for {
		n, err := read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) || errors.Is(err, io.EOF) {
				return
			}
			// A TAP read fails transiently only in odd states (EAGAIN is handled by the poller);
			// anything else means the port is gone.
			return
		}
		if n <= packet.VnetHdrLen {
			continue
		}
		c.RxPackets.Add(1)
		c.RxBytes.Add(uint64(n - packet.VnetHdrLen))
		frame := buf[packet.VnetHdrLen:n]
		pkt.Decode(frame)
		st := e.state.Load()
		vh, _ := packet.ParseVnetHdr(buf[:packet.VnetHdrLen])
		tr.Tables, tr.NAT, tr.Now, tr.GSO = e.tracking.Tables, e.tracking.NAT, e.Now(), vh.IsGSO()
		Decide(&pkt, i, st, &tr, &v)
		if ob := e.observer.Load(); ob != nil {
			ob.o.Observe(i, frame, vh, &pkt, &v, tr.Now)
		}
		if v.EgressDone {
			tr.Tables[i].Apply(&v.Egress.Update, tr.Now)
		}
		if v.IngressDone {
			tr.Tables[v.Out].Apply(&v.Ingress.Update, tr.Now)
		}
		if v.NAT.Done {
			applyNAT(&tr, &v)
		}
		switch v.Action {
		case Deliver:
			ports := *e.ports.Load()
			out := ports[v.Out]
			if out == nil {
				c.Drops[ReasonNoDestination].Add(1)
				continue
			}
			if v.RewriteMACs {
				packet.SetMACs(frame, packet.MAC(v.DstMAC), packet.MAC(v.SrcMAC))
			}
			// The internet gateway's one-to-one NAT: addresses change, checksums follow.
			Translate(frame, &pkt, vh, &v)
			if _, err := out.Write(buf[:n]); err != nil {
				e.counters[v.Out].WriteErrors.Add(1)
				continue
			}
			oc := &e.counters[v.Out]
			oc.TxPackets.Add(1)
			oc.TxBytes.Add(uint64(n - packet.VnetHdrLen))
		case ReplyARP:
			packet.PutZeroVnetHdr(reply)
			m := packet.BuildARPReply(reply[packet.VnetHdrLen:], &pkt, packet.MAC(v.ARPAnswer))
			if m > 0 {
				if _, err := p.Write(reply[:packet.VnetHdrLen+m]); err != nil {
					c.WriteErrors.Add(1)
				}
			}
		case ReplyFragNeeded:
			// Path MTU discovery: the router tells the sender the next hop's MTU.
			sub := &st.Subnets[st.ENIs[i].Subnet]
			packet.PutZeroVnetHdr(reply)
			m := packet.BuildICMPFragNeeded(reply[packet.VnetHdrLen:], frame, &pkt, packet.MAC(st.VPCs[sub.VPC].RouterMAC), sub.Router, v.MTU)
			if m > 0 {
				if _, err := p.Write(reply[:packet.VnetHdrLen+m]); err != nil {
					c.WriteErrors.Add(1)
				}
			}
			c.Drops[v.Reason].Add(1)
		case ReplyReset:
			// The NAT gateway's RST after an idle timeout; the refused segment counts as a
			// drop of the gateway.
			e.counters[v.NAT.GW].Drops[v.Reason].Add(1)
			if err := sendReset(p, reply, frame, &pkt, st, i); err != nil {
				c.WriteErrors.Add(1)
			}
		default:
			// Count the drop on the ENI whose stage refused the packet: an ingress security
			// group's drop shows on the receiving ENI, as AWS's counters and flow logs do.
			at := i
			if v.NSteps > 0 {
				if s := v.Steps[v.NSteps-1].ENI; int(s) < len(e.counters) {
					at = s
				}
			}
			e.counters[at].Drops[v.Reason].Add(1)
		}
	}
}
