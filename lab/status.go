package lab

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/hypervisor"
)

// Status describes a running lab, for `ec2sim status` and the output of `up`.
type Status struct {
	Lab     string    `json:"lab"`
	File    string    `json:"file,omitempty"`
	PID     int       `json:"engine_pid,omitempty"`
	Started time.Time `json:"started,omitempty"`
	// ClockSpeed is the lab clock's speed when it is not real time (1): timers run faster.
	ClockSpeed     float64          `json:"clock_speed,omitempty"`
	Unsafe         string           `json:"unsafe,omitempty"` // UnsafeWarning when scrubbing is off
	Pool           string           `json:"pool,omitempty"`   // the hypervisor pool's sizes and use
	VPCs           []VPCStatus      `json:"vpcs"`
	SecurityGroups []GroupStatus    `json:"security_groups"`
	Instances      []InstanceStatus `json:"instances"`
	// Outside are the networks outside the VPCs: the simulated internet and the on-premises
	// networks, each a namespace of its own (onprem.go).
	Outside []OutsideStatus `json:"outside_networks,omitempty"`
	// NATGateways are the lab's NAT gateways with their counters (natgw.go).
	NATGateways []NATGatewayStatus `json:"nat_gateways,omitempty"`
}

// VPCStatus is one VPC.
type VPCStatus struct {
	Name      string   `json:"name"`
	ID        string   `json:"id"`
	CIDR      string   `json:"cidr"`
	RouterMAC string   `json:"router_mac"`
	Subnets   []string `json:"subnets"`
}

// InstanceStatus is one instance.
type InstanceStatus struct {
	Name      string      `json:"name"`
	ID        string      `json:"id"`
	Hostname  string      `json:"hostname"`
	Namespace string      `json:"namespace"`
	State     string      `json:"state"`
	Type      string      `json:"type"`
	ENIs      []ENIStatus `json:"enis"`
}

// ENIStatus is one ENI with its counters.
type ENIStatus struct {
	Name            string            `json:"name"`
	ID              string            `json:"id"`
	MAC             string            `json:"mac"`
	IPs             []string          `json:"private_ips"`
	Subnet          string            `json:"subnet"`
	SubnetID        string            `json:"subnet_id"`
	SourceDestCheck bool              `json:"source_dest_check"`
	SecurityGroups  []string          `json:"security_groups"`
	Conntrack       int               `json:"conntrack_entries"`
	AllowanceExceed uint64            `json:"conntrack_allowance_exceeded"`
	RxPackets       uint64            `json:"rx_packets"`
	RxBytes         uint64            `json:"rx_bytes"`
	TxPackets       uint64            `json:"tx_packets"`
	TxBytes         uint64            `json:"tx_bytes"`
	Drops           map[string]uint64 `json:"drops,omitempty"`
}

// Status reports the lab's current state and counters.
func (l *Lab) Status() Status {
	st := l.Engine.State()
	s := Status{Lab: l.Plan.Lab, File: l.Plan.Scenario.File}
	if c := l.clock(); c.Scaled() {
		s.ClockSpeed = c.Speed()
	}
	for vi, v := range st.VPCs {
		vs := VPCStatus{Name: v.Name, ID: v.ID, CIDR: v.CIDR.String(), RouterMAC: v.RouterMAC.String()}
		for _, sub := range st.Subnets {
			if sub.VPC == uint32(vi) {
				vs.Subnets = append(vs.Subnets, fmt.Sprintf("%s %s %s", sub.Name, sub.ID, sub.CIDR))
			}
		}
		s.VPCs = append(s.VPCs, vs)
	}
	s.SecurityGroups = l.groupStatus()
	if l.hv != nil {
		s.Pool = l.hv.pool.String()
		if l.hv.noLimits != nil {
			s.Pool += fmt.Sprintf("; instance types NOT enforced (no cgroup limits): %v", l.hv.noLimits)
		}
		if l.hv.unsafe {
			s.Unsafe = UnsafeWarning
		}
	}
	for _, ip := range l.Plan.Instances {
		is := InstanceStatus{Name: ip.Name, ID: ip.ID, Hostname: ip.Hostname, Namespace: hypervisor.NSName(l.Plan.Lab, ip.Name), Type: ip.typeName()}
		if state, err := l.InstanceState(ip.Name); err == nil {
			is.State = state
		}
		for _, idx := range ip.ENIs {
			e := &st.ENIs[idx]
			c := l.Engine.Counters(idx)
			es := ENIStatus{
				Name: e.Name, ID: e.ID, MAC: e.Identity.MAC.String(), Subnet: st.Subnets[e.Subnet].Name,
				SubnetID: st.Subnets[e.Subnet].ID, SourceDestCheck: e.Identity.SourceDestCheck,
				SecurityGroups: l.eniGroupNames(idx), Conntrack: l.Engine.Conntrack(idx).Len(),
				AllowanceExceed: l.Engine.Conntrack(idx).AllowanceExceeded(),
				RxPackets:       c.RxPackets.Load(), RxBytes: c.RxBytes.Load(), TxPackets: c.TxPackets.Load(), TxBytes: c.TxBytes.Load(),
			}
			for _, a := range e.Identity.Addrs {
				es.IPs = append(es.IPs, a.String())
			}
			for r := range fabric.NumReasons {
				if n := c.Drops[r].Load(); n > 0 {
					if es.Drops == nil {
						es.Drops = map[string]uint64{}
					}
					es.Drops[fabric.Reason(r).String()] = n
				}
			}
			is.ENIs = append(is.ENIs, es)
		}
		s.Instances = append(s.Instances, is)
	}
	s.Outside = l.outsideStatus(st)
	s.NATGateways = l.natGatewayStatus()
	return s
}

// WriteText prints the status as a table a person reads.
func (s *Status) WriteText(w io.Writer, counters bool) {
	fmt.Fprintf(w, "lab %s", s.Lab)
	if s.File != "" {
		fmt.Fprintf(w, " (from %s)", s.File)
	}
	if s.PID != 0 {
		fmt.Fprintf(w, ", engine pid %d", s.PID)
	}
	if s.ClockSpeed != 0 {
		fmt.Fprintf(w, ", lab clock at %gx real time", s.ClockSpeed)
	}
	fmt.Fprintln(w)
	if s.Unsafe != "" {
		fmt.Fprintf(w, "*** %s ***\n", s.Unsafe)
	}
	if s.Pool != "" {
		fmt.Fprintf(w, "hypervisor %s\n", s.Pool)
	}
	for _, v := range s.VPCs {
		fmt.Fprintf(w, "vpc %s %s %s, router MAC %s\n", v.Name, v.ID, v.CIDR, v.RouterMAC)
		for _, sub := range v.Subnets {
			fmt.Fprintf(w, "  subnet %s\n", sub)
		}
	}
	for _, g := range s.SecurityGroups {
		fmt.Fprintf(w, "security group %s/%s %s\n", g.VPC, g.Name, g.ID)
		for _, r := range g.Ingress {
			fmt.Fprintf(w, "  in  %s\n", r)
		}
		for _, r := range g.Egress {
			fmt.Fprintf(w, "  out %s\n", r)
		}
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	hdr := "INSTANCE\tSTATE\tTYPE\tNAMESPACE\tENI\tMAC\tPRIVATE IP\tSUBNET\tSRC/DST CHECK\tGROUPS"
	if counters {
		hdr += "\tCONNTRACK\tRX PKTS\tTX PKTS\tDROPS"
	}
	fmt.Fprintln(tw, hdr)
	for _, in := range s.Instances {
		for k, e := range in.ENIs {
			name, state, typ, ns := in.Name, in.State, in.Type, in.Namespace
			if k > 0 {
				name, state, typ, ns = "", "", "", ""
			}
			check := "on"
			if !e.SourceDestCheck {
				check = "off"
			}
			line := fmt.Sprintf("%s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%s\t%s", name, state, typ, ns, e.Name, e.ID, e.MAC, strings.Join(e.IPs, ","), e.Subnet, check, strings.Join(e.SecurityGroups, ","))
			if counters {
				var drops []string
				for r, n := range e.Drops {
					drops = append(drops, fmt.Sprintf("%s=%d", r, n))
				}
				sort.Strings(drops)
				if e.AllowanceExceed > 0 {
					drops = append(drops, fmt.Sprintf("conntrack_allowance_exceeded=%d", e.AllowanceExceed))
				}
				line += fmt.Sprintf("\t%d\t%d\t%d\t%s", e.Conntrack, e.RxPackets, e.TxPackets, strings.Join(drops, " "))
			}
			fmt.Fprintln(tw, line)
		}
	}
	tw.Flush()
	writeOutside(w, s.Outside)
	writeNATText(w, s.NATGateways, counters)
}
