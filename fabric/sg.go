package fabric

import (
	"github.com/ec2sim/ec2sim/fabric/natgw"
	"github.com/ec2sim/ec2sim/fabric/packet"
	"github.com/ec2sim/ec2sim/sgengine"
)

// Tracking is the connection-tracking state Decide reads: one table per ENI index (AWS tracks
// per ENI) and the engine's clock reading for this packet. Decide only reads it; the engine
// applies the updates a verdict carries.
type Tracking struct {
	Tables []*sgengine.Conntrack
	// NAT holds the NAT gateways' translation tables by ENI index (nil for other ENIs).
	NAT []*natgw.Table
	Now int64
	// GSO says the frame is a GSO super-frame (its virtio header carries a segment size): its
	// length is not the length of the packets that will be on the wire.
	GSO bool
}

// flowOf fills f from the parsed headers, for the security groups.
func flowOf(p *packet.Parsed, f *sgengine.Flow) {
	*f = sgengine.Flow{Src: p.Src, Dst: p.Dst, Proto: p.Proto}
	if p.HasPorts {
		f.SrcPort, f.DstPort, f.TCPFlags = p.SrcPort, p.DstPort, p.TCPFlags
	}
	if p.HasICMP {
		f.ICMPType, f.ICMPCode, f.ICMPID = p.ICMPType, p.ICMPCode, p.ICMPID
		f.IsICMPError = isICMPError(p)
		if p.HasInner {
			f.Inner = sgengine.InnerFlow{Src: p.InnerSrc, Dst: p.InnerDst, Proto: p.InnerProto}
			if p.InnerHasPorts {
				f.Inner.SrcPort, f.Inner.DstPort = p.InnerSrcPort, p.InnerDstPort
			}
			if p.InnerHasICMP {
				f.Inner.ICMPType, f.Inner.ICMPID = p.InnerICMPType, p.InnerICMPID
			}
		}
	}
}

// isICMPError reports whether p is an ICMP error message: destination unreachable, source
// quench, redirect, time exceeded, parameter problem (v4); the four error types of ICMPv6.
func isICMPError(p *packet.Parsed) bool {
	switch {
	case p.Proto == 1 && p.Kind == packet.KindIPv4:
		switch p.ICMPType {
		case 3, 4, 5, 11, 12:
			return true
		}
	case p.Proto == 58 && p.Kind == packet.KindIPv6:
		return p.ICMPType >= 1 && p.ICMPType <= 4
	}
	return false
}

// table returns ENI i's conntrack table, or nil.
func (t *Tracking) table(i uint32) *sgengine.Conntrack {
	if t == nil || int(i) >= len(t.Tables) {
		return nil
	}
	return t.Tables[i]
}

// now is the reading of the clock for this packet, or 0 without tracking state.
func (t *Tracking) now() int64 {
	if t == nil {
		return 0
	}
	return t.Now
}
