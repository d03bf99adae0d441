package fabric

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"github.com/ec2sim/ec2sim/fabric/packet"
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

	mu       sync.Mutex // guards ports and wg additions
	ports    atomic.Pointer[[]Port]
	counters []Counters
	wg       sync.WaitGroup
}

// NewEngine makes an engine over st with room for counters of every ENI index st has.
func NewEngine(st *State) *Engine {
	e := &Engine{counters: make([]Counters, len(st.ENIs))}
	e.state.Store(st)
	ports := make([]Port, len(st.ENIs))
	e.ports.Store(&ports)
	return e
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
	return errors.Join(errs...)
}

// pump is the reader of one port.
func (e *Engine) pump(i uint32, p Port) {
	defer e.wg.Done()
	buf := make([]byte, bufSize)
	reply := make([]byte, packet.VnetHdrLen+64)
	var pkt packet.Parsed
	var v Verdict
	c := &e.counters[i]
	for {
		n, err := p.Read(buf)
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
		Decide(&pkt, i, st, &v)
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
		default:
			c.Drops[v.Reason].Add(1)
		}
	}
}
