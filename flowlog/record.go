package flowlog

import (
	"fmt"
	"net/netip"
)

// Action is a record's action field.
type Action uint8

const (
	// ActionNone prints as "-" (NODATA and SKIPDATA records).
	ActionNone Action = iota
	// Accept: the security groups and network ACLs let the traffic through.
	Accept
	// Reject: a security group or a network ACL denied it; the record does not say which.
	Reject
)

func (a Action) String() string {
	switch a {
	case Accept:
		return "ACCEPT"
	case Reject:
		return "REJECT"
	}
	return "-"
}

// ParseAction reads "ACCEPT", "REJECT" or "-".
func ParseAction(s string) (Action, error) {
	switch s {
	case "ACCEPT":
		return Accept, nil
	case "REJECT":
		return Reject, nil
	case "-":
		return ActionNone, nil
	}
	return 0, fmt.Errorf("action %q: want ACCEPT, REJECT or -", s)
}

// LogStatus is a record's log-status field.
type LogStatus uint8

const (
	// StatusNone prints as "-"; only parsed records without the field have it.
	StatusNone LogStatus = iota
	// StatusOK: data is logging normally.
	StatusOK
	// StatusNoData: the ENI had no traffic to or from it during the window.
	StatusNoData
	// StatusSkipData: flows were not recorded because a capacity limit was exceeded.
	StatusSkipData
)

func (s LogStatus) String() string {
	switch s {
	case StatusOK:
		return "OK"
	case StatusNoData:
		return "NODATA"
	case StatusSkipData:
		return "SKIPDATA"
	}
	return "-"
}

// ParseLogStatus reads "OK", "NODATA", "SKIPDATA" or "-".
func ParseLogStatus(s string) (LogStatus, error) {
	switch s {
	case "OK":
		return StatusOK, nil
	case "NODATA":
		return StatusNoData, nil
	case "SKIPDATA":
		return StatusSkipData, nil
	case "-":
		return StatusNone, nil
	}
	return 0, fmt.Errorf("log-status %q: want OK, NODATA, SKIPDATA or -", s)
}

// Direction is flow-direction: with respect to the ENI where the traffic is captured.
type Direction uint8

const (
	// DirectionNone prints as "-".
	DirectionNone Direction = iota
	// Ingress: the packet arrives at the ENI (is delivered to the instance).
	Ingress
	// Egress: the packet leaves the ENI (was sent by the instance).
	Egress
)

func (d Direction) String() string {
	switch d {
	case Ingress:
		return "ingress"
	case Egress:
		return "egress"
	}
	return "-"
}

// ParseDirection reads "ingress", "egress" or "-".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "ingress":
		return Ingress, nil
	case "egress":
		return Egress, nil
	case "-":
		return DirectionNone, nil
	}
	return 0, fmt.Errorf("flow-direction %q: want ingress, egress or -", s)
}

// TrafficPath is the traffic-path field: the path egress traffic takes to its destination. AWS
// leaves it "-" for ingress traffic and when none of the values applies.
type TrafficPath uint8

const (
	PathNone                 TrafficPath = iota // "-"
	PathSameVPC                                 // 1: another resource in the same VPC
	PathIGWOrGatewayEndpoint                    // 2: an internet gateway or a gateway VPC endpoint
	PathVGW                                     // 3: a virtual private gateway
	PathIntraRegionPeering                      // 4: an intra-Region VPC peering connection
	PathInterRegionPeering                      // 5: an inter-Region VPC peering connection
	PathLocalGateway                            // 6: a local gateway
	PathGatewayEndpoint                         // 7: a gateway VPC endpoint (Nitro only)
	PathIGW                                     // 8: an internet gateway (Nitro only)
	maxTrafficPath           = PathIGW
)

// AddrType is the type field. EFA traffic does not exist in ec2sim but parses.
type AddrType uint8

const (
	TypeNone AddrType = iota // "-"
	TypeIPv4
	TypeIPv6
	TypeEFA
)

func (t AddrType) String() string {
	switch t {
	case TypeIPv4:
		return "IPv4"
	case TypeIPv6:
		return "IPv6"
	case TypeEFA:
		return "EFA"
	}
	return "-"
}

// ParseAddrType reads "IPv4", "IPv6", "EFA" or "-".
func ParseAddrType(s string) (AddrType, error) {
	switch s {
	case "IPv4":
		return TypeIPv4, nil
	case "IPv6":
		return TypeIPv6, nil
	case "EFA":
		return TypeEFA, nil
	case "-":
		return TypeNone, nil
	}
	return 0, fmt.Errorf("type %q: want IPv4, IPv6, EFA or -", s)
}

// TCP flags as flow logs report them. SYN-ACK is its own value (SYN|ACK): ACK is kept only
// alongside SYN, so ACK or PSH on their own give 0.
const (
	FlagFIN    uint8 = 1
	FlagSYN    uint8 = 2
	FlagRST    uint8 = 4
	FlagSYNACK uint8 = 18
)

// LogTCPFlags maps the flags byte of a TCP header (byte 13: CWR ECE URG ACK PSH RST SYN FIN) to
// the bits a flow log reports. Unsupported flags (PSH, URG, ECE, CWR, a lone ACK) are dropped,
// so "an unsupported flag alongside a supported one reports the supported one".
func LogTCPFlags(header uint8) uint8 {
	const ack = 0x10
	f := header & (FlagFIN | FlagSYN | FlagRST)
	if f&FlagSYN != 0 && header&ack != 0 {
		f |= ack
	}
	return f
}

// Record is one flow log record: one flow (5-tuple, action and direction) on one ENI in one
// capture window, or the window's NODATA or SKIPDATA status for the ENI.
//
// A string, address or enumeration field prints as "-" when it is empty, invalid or zero. The
// numeric fields cannot use zero that way (ICMP has ports 0 0), so those that do not apply are
// listed in Unset.
type Record struct {
	Version     int // as parsed; formatting writes the format's version instead
	AccountID   string
	InterfaceID string
	SrcAddr     netip.Addr
	DstAddr     netip.Addr
	SrcPort     uint16
	DstPort     uint16
	Protocol    uint8
	Packets     int64
	Bytes       int64
	Start       int64 // Unix seconds
	End         int64 // Unix seconds
	Action      Action
	LogStatus   LogStatus

	VPCID      string
	SubnetID   string
	InstanceID string
	TCPFlags   uint8
	Type       AddrType
	PktSrcAddr netip.Addr
	PktDstAddr netip.Addr

	Region          string
	AZID            string
	SublocationType string
	SublocationID   string

	PktSrcAWSService string
	PktDstAWSService string
	FlowDirection    Direction
	TrafficPath      TrafficPath

	// Unset lists the numeric fields that print as "-". The version field is never "-" when
	// printed: it is the format's.
	Unset FieldSet
}

// noFlowFields are the fields a NODATA or SKIPDATA record leaves "-": they describe a flow and
// such a record stands for none (or for many).
const noFlowFields = 1<<FieldSrcPort | 1<<FieldDstPort | 1<<FieldProtocol | 1<<FieldPackets |
	1<<FieldBytes | 1<<FieldTCPFlags

// FieldSet is a set of fields, one bit per Field.
type FieldSet uint64

// Has reports whether f is in the set.
func (s FieldSet) Has(f Field) bool { return s&(1<<f) != 0 }

// With returns the set with f added.
func (s FieldSet) With(f Field) FieldSet { return s | 1<<f }
