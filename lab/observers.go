package lab

import (
	"sync"
	"sync/atomic"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/fabric/packet"
)

// observers fans the engine's one Observer out to the lab's consumers (flow logs, captures). It
// is installed on the engine only while it has consumers, so a lab without them pays nothing.
type observers struct {
	mu   sync.Mutex // guards changes; readers use the atomic list
	list atomic.Pointer[[]fabric.Observer]
}

func (o *observers) Observe(in uint32, frame []byte, vnet packet.VnetHdr, p *packet.Parsed, v *fabric.Verdict, now int64) {
	if l := o.list.Load(); l != nil {
		for _, x := range *l {
			x.Observe(in, frame, vnet, p, v, now)
		}
	}
}

// addObserver starts feeding x every decided frame; the returned function stops it.
func (l *Lab) addObserver(x fabric.Observer) (remove func()) {
	o := &l.obs
	o.mu.Lock()
	defer o.mu.Unlock()
	var cur []fabric.Observer
	if p := o.list.Load(); p != nil {
		cur = *p
	}
	next := append(append([]fabric.Observer(nil), cur...), x)
	o.list.Store(&next)
	l.Engine.SetObserver(o)
	return func() {
		o.mu.Lock()
		defer o.mu.Unlock()
		var keep []fabric.Observer
		for _, y := range *o.list.Load() {
			if y != x {
				keep = append(keep, y)
			}
		}
		o.list.Store(&keep)
		if len(keep) == 0 {
			l.Engine.SetObserver(nil)
		}
	}
}
