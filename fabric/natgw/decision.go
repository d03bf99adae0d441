package natgw

import (
	"net/netip"
	"strconv"
)

// IP protocol numbers the gateway translates.
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits of Packet.TCPFlags, as in the TCP header's low flag byte.
const (
	TCPFin = 0x01
	TCPSyn = 0x02
	TCPRst = 0x04
	TCPAck = 0x10
)

// Packet is what the table needs of one packet. The engine fills it from its parsed headers;
// addresses are as on the wire. Fields that do not apply to the packet's protocol are ignored.
type Packet struct {
	Proto    uint8
	Src, Dst netip.Addr
	// SrcPort and DstPort are the TCP or UDP ports; zero in a non-first fragment.
	SrcPort, DstPort uint16
	TCPFlags         uint8
	// ICMPType and ICMPID: the type, and the identifier of a query (echo and the like).
	ICMPType uint8
	ICMPID   uint16
	// Fragment marks an IP fragment, FirstFragment one at offset 0, which carries the ports.
	Fragment, FirstFragment bool
	// IsICMPError marks an ICMP (or ICMPv6) error; Quote is then the packet it quotes.
	IsICMPError bool
	Quote       Quote
}

// Quote is the packet quoted by an ICMP error, as the error carries it.
type Quote struct {
	Proto            uint8
	Src, Dst         netip.Addr
	SrcPort, DstPort uint16 // TCP or UDP
	ICMPID           uint16 // an ICMP query's identifier
}

// Key identifies a translated flow as the inside host sees it.
type Key struct {
	Proto uint8
	// Inside is the instance's address; InsidePort its TCP or UDP port, or the ICMP query's
	// identifier.
	Inside     netip.Addr
	InsidePort uint16
	// Remote is the destination; RemotePort its port, 0 for ICMP.
	Remote     netip.Addr
	RemotePort uint16
}

// Verdict is what the gateway does with a packet, and why.
type Verdict uint8

const (
	// VerdictNone is the zero Verdict; no decision returns it.
	VerdictNone Verdict = iota
	// VerdictTranslated: the packet belongs to a live mapping. Outbound: rewrite the source
	// address to the public address and the source port (ICMP: identifier) to Decision.Ext.
	// Inbound: rewrite the destination to Flow.Inside and Flow.InsidePort. An ICMP error is
	// rewritten in its outer header as above (outbound: source address only) and in its quote
	// the other way: inbound, the quote's source becomes Flow.Inside:InsidePort; outbound,
	// the quote's destination becomes the public address and Ext.
	VerdictTranslated
	// VerdictNewMapping: an outbound packet opens a mapping with the external port Ext.
	VerdictNewMapping
	// VerdictAddressOnly: an outbound non-first UDP fragment; rewrite the source address only.
	VerdictAddressOnly
	// VerdictErrorPortAllocation: no external port is free for the destination; dropped and
	// counted by ErrorPortAllocation.
	VerdictErrorPortAllocation
	// VerdictIdleTimeoutReset: a TCP segment of a connection whose mapping went idle; the
	// gateway answers the inside host with a RST (Decision.Flow says to whom).
	VerdictIdleTimeoutReset
	// VerdictNoMappingReset: a TCP segment other than a lone SYN (or a RST) with no mapping,
	// for example of a connection whose mapping was reaped; answered with a RST too.
	VerdictNoMappingReset
	// VerdictNoMapping: no live mapping admits the packet (unsolicited inbound, an ICMP error
	// about an unknown flow, a stray RST); dropped.
	VerdictNoMapping
	// VerdictFragment: a TCP or ICMP fragment, or an inbound non-first UDP fragment; dropped.
	VerdictFragment
	// VerdictUnsupported: a protocol other than TCP, UDP and ICMP, an ICMP type that neither
	// opens nor answers a query, or an address of the other family; dropped.
	VerdictUnsupported
	numVerdicts
)

var verdictNames = [numVerdicts]string{
	VerdictNone:                "none",
	VerdictTranslated:          "translated",
	VerdictNewMapping:          "new-mapping",
	VerdictAddressOnly:         "address-only",
	VerdictErrorPortAllocation: "error-port-allocation",
	VerdictIdleTimeoutReset:    "idle-timeout-reset",
	VerdictNoMappingReset:      "no-mapping-reset",
	VerdictNoMapping:           "no-mapping",
	VerdictFragment:            "fragment",
	VerdictUnsupported:         "unsupported",
}

func (v Verdict) String() string {
	if v < numVerdicts {
		return verdictNames[v]
	}
	return "verdict(" + strconv.Itoa(int(v)) + ")"
}

// Translates reports whether the packet is forwarded (rewritten as the decision says).
func (v Verdict) Translates() bool {
	return v == VerdictTranslated || v == VerdictNewMapping || v == VerdictAddressOnly
}

// Resets reports whether the gateway answers the inside host with a TCP RST. The RST goes
// from Flow.Remote:RemotePort to Flow.Inside:InsidePort and, as RFC 9293 has it for a
// segment without a connection, takes its sequence number from the segment's ACK field, or
// is RST|ACK acknowledging the segment when it had no ACK.
func (v Verdict) Resets() bool {
	return v == VerdictIdleTimeoutReset || v == VerdictNoMappingReset
}

// Decision is the gateway's verdict on one packet and the table update it implies.
type Decision struct {
	Verdict Verdict
	// Flow is the inside flow the packet belongs to, when known: for an inbound packet, where
	// to deliver it; for a reset, whom to answer.
	Flow Key
	// Ext is the flow's external port (ICMP: identifier) on the public side.
	Ext uint16
	// Update is what the verdict implies for the table; pass it to Table.Apply.
	Update Update
}

// op is the kind of change an Update makes.
type op uint8

const (
	opNone    op = iota // translate, change nothing (ICMP errors, non-first fragments)
	opCreate            // add a mapping with the chosen port
	opRefresh           // advance the mapping's state and restart its idle timer
	opDrop              // count a dropped packet
	opExpire            // count a dropped packet and remove the flow's expired mapping
)

var opNames = [...]string{"none", "create", "refresh", "drop", "expire"}

func (o op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

type direction uint8

const (
	dirOut direction = iota // from the inside
	dirIn                   // from the public side
)

// Update is a table change computed by a pure evaluation. It refers to no memory of the
// table, so it may be applied later, or never.
type Update struct {
	op        op
	dir       direction
	tcpFlags  uint8
	portAlloc bool // opDrop: the drop is an ErrorPortAllocation
	ext       uint16
	key       fkey
	hd        uint64 // destination hash
	ho        uint32 // inside-flow index hash
	hint      int32  // slab index plus one of the entry the evaluation saw, 0 for none
	t         *Table // the table the hashes and hint were computed for
}

// String names the change, for traces and test failures.
func (u Update) String() string { return u.op.String() }

// Metrics are the gateway's counters, named as AWS's CloudWatch metrics of a NAT gateway.
type Metrics struct {
	// ActiveConnectionCount: TCP mappings that are open (SYN sent or established), not
	// closed and not reaped.
	ActiveConnectionCount int64
	// ConnectionAttemptCount: SYNs that opened a mapping (or reopened a closed one).
	ConnectionAttemptCount uint64
	// ConnectionEstablishedCount: SYN-ACKs from the destination that answered an attempt.
	ConnectionEstablishedCount uint64
	// ErrorPortAllocation: packets that found no free external port.
	ErrorPortAllocation uint64
	// IdleTimeoutCount: TCP connections that expired while open.
	IdleTimeoutCount uint64
	// PacketsDropCount: packets not forwarded, for whatever reason.
	PacketsDropCount uint64
}
