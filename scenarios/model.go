package scenarios

import (
	"net/netip"
	"strconv"
	"time"
)

// Pos is a place in a scenario file. Line and Col count from 1; zero means unknown.
type Pos struct {
	File      string
	Line, Col int
}

// String formats p as "file:line:col", leaving out the parts that are unknown.
func (p Pos) String() string {
	s := p.File
	if p.Line > 0 {
		s += ":" + strconv.Itoa(p.Line)
		if p.Col > 0 {
			s += ":" + strconv.Itoa(p.Col)
		}
	}
	return s
}

// Scenario is one validated scenario file: the VPCs, prefix lists and instances of a lab and the
// probes expected to pass or fail in it. After Parse every default has been filled in (see the
// field comments), so consumers never need to know the file's shorthands.
type Scenario struct {
	Name        string
	File        string
	Description string
	Settings    Settings
	VPCs        []*VPC // in file order
	PrefixLists []*PrefixList
	Instances   []*Instance // in file order
	// Internet is the simulated internet: hosts in the documentation ranges that reach
	// instances through internet gateways; nil when the scenario has none.
	Internet *Internet
	// Peerings are the VPC peering connections, in file order.
	Peerings []*Peering
	// OnPrem are the on-premises networks that VPN gateways connect to, in file order.
	OnPrem []*OnPrem
	// FlowLogs are created when the lab comes up.
	FlowLogs []*FlowLog
	// Clock drives the engine's timers; Parse sets Speed 1 (real time) when the file says
	// nothing.
	Clock Clock
	// Hypervisor configures scrubbing and the host pools; Parse sets DefaultHypervisor() when the
	// file says nothing.
	Hypervisor Hypervisor
	// Steps run in file order after the expect: probes.
	Steps  []*Step
	Expect []*Probe
	// Matrices are reachability matrices, checked after the expect: probes, before the steps.
	Matrices []*Matrix
	// Intents are checked by `ec2sim reach` (intents.go).
	Intents  []*Intent
	Warnings []Warning // e.g. a rule CIDR with host bits that was canonicalised
}

// Settings are the per-scenario quotas that AWS lets an account adjust.
type Settings struct {
	// SecurityGroupsPerENI is the most groups one ENI may have: 1-16, default 5.
	SecurityGroupsPerENI int
	// RulesPerSecurityGroup is the per-direction, per-family rule quota of a group: default 60.
	// SecurityGroupsPerENI × RulesPerSecurityGroup may not exceed 1000, as in AWS.
	RulesPerSecurityGroup int
	// NetworkACLRulesPerDirection is the NACL quota per direction and family (AWS: 20, up to 40);
	// 0 means the default.
	NetworkACLRulesPerDirection int
	// Conntrack is the lab-wide connection tracking: idle timeouts of every ENI (an ENI's own
	// connection_tracking overrides them), related ICMP, and the tracked-connection allowance.
	Conntrack ConntrackSettings
}

// ConntrackSettings are the lab-wide connection-tracking settings; zero fields take AWS's
// defaults (432000 s, 30 s, 180 s, off, the engine's allowance).
type ConntrackSettings struct {
	TCPEstablished time.Duration // 60 s - 432000 s
	UDP            time.Duration // 30 s - 60 s
	UDPStream      time.Duration // 60 s - 180 s
	// RelatedICMP admits ICMP errors about tracked flows as Linux does; AWS documents that
	// inbound ICMP needs a rule, so it is off by default.
	RelatedICMP bool
	// Allowance is the most tracked connections per ENI; 0 = the engine's default.
	Allowance int
}

// ConnTracking is an ENI's ConnectionTrackingSpecification: idle timeouts, 0 = the lab's.
type ConnTracking struct {
	TCPEstablished time.Duration
	UDP            time.Duration
	UDPStream      time.Duration
}

// AWS's defaults and hard limits for the settings and the file's other quotas.
const (
	DefaultSecurityGroupsPerENI  = 5
	MaxSecurityGroupsPerENI      = 16
	DefaultRulesPerSecurityGroup = 60
	MaxGroupsTimesRules          = 1000
	MaxENIsPerInstance           = 8
	MaxPrefixListEntries         = 1000
	MaxUserDataBytes             = 16 << 10 // AWS's limit on raw user data
	MaxDescriptionLen            = 255
	DefaultGroup                 = "default"
)

// DefaultSettings are the settings of a scenario that has no settings: block.
func DefaultSettings() Settings {
	return Settings{SecurityGroupsPerENI: DefaultSecurityGroupsPerENI, RulesPerSecurityGroup: DefaultRulesPerSecurityGroup}
}

// VPC is one virtual private cloud with its subnets and security groups.
type VPC struct {
	Name    string
	CIDR    netip.Prefix // IPv4, /16 to /28, canonical
	Subnets []*Subnet    // in file order
	// SecurityGroups always holds the VPC's "default" group first (implicit or overridden by the
	// file), then the file's other groups in file order.
	SecurityGroups []*SecurityGroup
	// InternetGateway: an internet gateway is attached to the VPC (at most one, as in AWS).
	InternetGateway bool
	// VPNGateway names the on-premises network (Scenario.OnPrem) that the virtual private
	// gateway attached to the VPC connects to; "" = no VPN gateway.
	VPNGateway string
	// NATGateways are the VPC's NAT gateways, in file order.
	NATGateways []*NATGateway
	// RouteTables always holds exactly one main table, first: the file's (main: true, or the
	// table named main) or, when the file declares none, an Implicit one named main with the
	// local route only, as AWS creates it. The file's other tables follow in file order.
	RouteTables []*RouteTable
	// NetworkACLs always holds the VPC's default ACL first: the file's (named default) or an
	// Implicit one with AWS's rules (rule 100 allows all IPv4 in and out). The file's other ACLs
	// follow in file order.
	NetworkACLs []*NetworkACL
	Pos         Pos
}

// Subnet is a subnet of a VPC.
type Subnet struct {
	Name, VPC string
	CIDR      netip.Prefix // IPv4, /16 to /28, canonical, inside the VPC's CIDR
	// RouteTable and NetworkACL name the subnet's associations; "" means the VPC's main table
	// and its default ACL, as on AWS.
	RouteTable string
	NetworkACL string
	// MapPublicIP (map_public_ip_on_launch) gives eth0 of every single-ENI instance launched in
	// the subnet a public IP; Parse has already set ENI.PublicIP where it applies.
	MapPublicIP bool
	Pos         Pos
}

// Qualified names the subnet the way ENIs refer to it: "vpc/subnet".
func (s *Subnet) Qualified() string { return s.VPC + "/" + s.Name }

// SecurityGroup is a VPC security group: allow rules only, stateful.
type SecurityGroup struct {
	Name, VPC, Description string
	Ingress, Egress        []*Rule
	// EgressDefaulted: the file has no egress key for this group, so AWS's default for a new group
	// (one rule allowing all IPv4) was filled in. An empty egress list in the file means no egress.
	EgressDefaulted bool
	// IngressDefaulted: only for the "default" group, whose ingress was not given in the file and
	// is AWS's default (all traffic from members of the group itself).
	IngressDefaulted bool
	// Implicit: the file does not mention the group; it is the VPC's default group as AWS creates it.
	Implicit bool
	Pos      Pos
}

// Protocol numbers with a meaning of their own in security group rules.
const (
	ProtoAll    = -1
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// Rule is one security group rule: traffic of Proto (and ports or ICMP type/code) from or to one
// source or destination.
type Rule struct {
	Proto int // -1 all, 6 tcp, 17 udp, 1 icmp, 58 icmpv6, or any 0-255
	// For tcp and udp, the port range: 0-65535 is all ports. For icmp and icmpv6, FromPort is the
	// type and ToPort the code, -1 meaning any. For every other protocol both are -1: AWS ignores
	// ports there.
	FromPort, ToPort int
	CIDR             netip.Prefix // canonical; exactly one of CIDR, Group, PrefixList is set
	Group            string       // security group name in the same VPC
	PrefixList       string       // name of one of the scenario's prefix lists
	Description      string
	Pos              Pos
}

// PrefixList is a customer-managed prefix list: a named set of CIDRs of one address family that
// rules may reference. In quotas a reference counts as MaxEntries rules.
type PrefixList struct {
	Name       string
	Entries    []netip.Prefix // canonical, all of one family
	MaxEntries int            // 1-1000, at least len(Entries); defaults to len(Entries)
	Pos        Pos
}

// IPv6 reports whether the list holds IPv6 prefixes. An empty list counts as IPv4, AWS's default.
func (p *PrefixList) IPv6() bool { return len(p.Entries) > 0 && p.Entries[0].Addr().Is6() }

// Instance is one EC2 instance: a network namespace with one to eight ENIs.
type Instance struct {
	Name     string
	Type     string // instance type name such as t3.micro, "" = the default type
	UserData string // shell script run inside the instance after its network is up
	State    string // initial state: "" or running, or stopped (started later by a step)
	// Volumes are the instance's disks besides its root EBS volume (/dev/xvda).
	Volumes []*Volume
	ENIs    []*ENI // eth0 first
	Pos     Pos
}

// ENI is one elastic network interface of an instance.
type ENI struct {
	Subnet          string     // qualified "vpc/subnet"
	IP              netip.Addr // zero = assigned automatically by the engine's IPAM
	SecondaryIPs    []netip.Addr
	SourceDestCheck bool // default true
	// SecurityGroups are names of groups in the ENI's VPC. After Parse never empty: an ENI given
	// no group gets the VPC's "default" group, as in AWS.
	SecurityGroups []string
	// ConnTracking overrides the lab's conntrack idle timeouts for this ENI (AWS's
	// ConnectionTrackingSpecification); nil = the lab's.
	ConnTracking *ConnTracking
	// PublicIP: the ENI gets an auto-assigned public IP, asked for with public_ip: true or given by
	// its subnet's map_public_ip_on_launch (eth0 of a single-ENI instance only, as in AWS);
	// ElasticIP gives a fixed one instead (zero = none). Both come from the documentation
	// ranges, and the internet gateway maps them to the primary private IP.
	PublicIP    bool
	ElasticIP   netip.Addr
	Description string
	Pos         Pos
}

// VPCName is the VPC part of the ENI's qualified subnet.
func (e *ENI) VPCName() string {
	for i := 0; i < len(e.Subnet); i++ {
		if e.Subnet[i] == '/' {
			return e.Subnet[:i]
		}
	}
	return ""
}

// Probe is one expectation: traffic from an instance to a target is allowed or denied.
type Probe struct {
	From, To    string        // instance name or "instance.ethN"; To may also be an IP literal
	Proto       string        // tcp | udp | icmp
	Port        int           // tcp/udp only, 1-65535
	Result      string        // allow | deny
	Timeout     time.Duration // 0 = the runner's default
	Description string
	Pos         Pos
}

// VPC returns the VPC called name, or nil.
func (s *Scenario) VPC(name string) *VPC {
	for _, v := range s.VPCs {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Subnet returns the subnet with the qualified name "vpc/subnet", or nil.
func (s *Scenario) Subnet(qualified string) *Subnet {
	for _, v := range s.VPCs {
		for _, sn := range v.Subnets {
			if sn.VPC+"/"+sn.Name == qualified {
				return sn
			}
		}
	}
	return nil
}

// Instance returns the instance called name, or nil.
func (s *Scenario) Instance(name string) *Instance {
	for _, in := range s.Instances {
		if in.Name == name {
			return in
		}
	}
	return nil
}

// PrefixList returns the prefix list called name, or nil.
func (s *Scenario) PrefixList(name string) *PrefixList {
	for _, p := range s.PrefixLists {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// Subnet returns the VPC's subnet called name, or nil.
func (v *VPC) Subnet(name string) *Subnet {
	for _, s := range v.Subnets {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Group returns the VPC's security group called name, or nil.
func (v *VPC) Group(name string) *SecurityGroup {
	for _, g := range v.SecurityGroups {
		if g.Name == name {
			return g
		}
	}
	return nil
}

// RouteTable is a VPC route table. Every table has a local route for the VPC's CIDR, which the
// file does not list.
type RouteTable struct {
	Name, VPC string
	Main      bool // the VPC's main table: subnets without an association use it
	Routes    []*Route
	// Implicit: the file declares no main table; this is the one AWS creates (local route only).
	Implicit bool
	Pos      Pos
}

// Route is one route of a table.
type Route struct {
	Destination netip.Prefix
	Target      RouteTarget
	Pos         Pos
}

// RouteTarget is where a route sends traffic.
type RouteTarget struct {
	// Kind is igw (the VPC's internet gateway), nat (a NAT gateway of the VPC), instance (the
	// instance's eth0), eni, vgw (the VPC's VPN gateway), peering or blackhole.
	Kind string
	// Name is the NAT gateway, instance or peering connection, "INSTANCE.ethN" for eni, and
	// empty for igw, vgw and blackhole.
	Name string
	Pos  Pos
}

// String renders the target as the file writes it.
func (t RouteTarget) String() string {
	if t.Name == "" {
		return t.Kind
	}
	return t.Kind + "/" + t.Name
}

// NetworkACL is a VPC network ACL: numbered rules per direction, lowest first, first match
// wins, then the final deny (rule * — 32767 for IPv4, 32768 for IPv6).
type NetworkACL struct {
	Name, VPC       string
	Default         bool // the VPC's default ACL (named default)
	Ingress, Egress []*ACLEntry
	// Implicit: the file does not declare the default ACL; this is AWS's.
	Implicit bool
	Pos      Pos
}

// ACLEntry is one numbered NACL rule.
type ACLEntry struct {
	Number   int // 1-32766
	Allow    bool
	Proto    int // -1 all, or 0-255
	FromPort int // tcp/udp port range; 0-65535 when the protocol has no ports
	ToPort   int
	ICMPType int // -1 any
	ICMPCode int // -1 any
	CIDR     netip.Prefix
	Pos      Pos
}

// DefaultACL is the name of every VPC's default network ACL.
const DefaultACL = "default"

// MainRouteTable is the name of the implicit main route table.
const MainRouteTable = "main"

// Internet is the simulated internet.
type Internet struct {
	Hosts []*Host
	Pos   Pos
}

// Host is a host of the simulated internet or of an on-premises network.
type Host struct {
	Name string
	IP   netip.Addr
	Pos  Pos
}

// InternetName is reserved: the simulated internet's namespace is named after it.
const InternetName = "internet"

// InDocumentationRange reports whether a is in one of the documentation ranges.
func InDocumentationRange(a netip.Addr) bool {
	for _, p := range DocumentationRanges() {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Host returns the internet host called name, or nil.
func (s *Scenario) Host(name string) *Host {
	if s.Internet == nil {
		return nil
	}
	for _, h := range s.Internet.Hosts {
		if h.Name == name {
			return h
		}
	}
	return nil
}

// FlowLog is a VPC Flow Log created with the lab.
type FlowLog struct {
	Name string
	// Resource is vpc/NAME, subnet/VPC/NAME or eni/INSTANCE[.ethN].
	Resource string
	// Traffic is ACCEPT, REJECT or ALL.
	Traffic string
	// Interval is the capture window: 60 s or 600 s (AWS), or 1-59 s (an ec2sim test setting).
	Interval time.Duration
	// Format is a custom format in AWS's ${field} syntax; "" is the default format.
	Format string
	// Destination is text (AWS's space-separated lines) or jsonl.
	Destination string
	Pos         Pos
}
