// Package lab turns a scenario into a running lab: it plans addresses and identities, creates the
// instances through the hypervisor, runs the fabric engine over their ENIs, serves the control
// socket of a background lab, and removes everything a lab made, also after a crash.
package lab

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"net/netip"
	"regexp"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/mac"
	"github.com/ec2sim/ec2sim/scenarios"
)

// Plan is everything a lab will be, computed before anything is created, so that a scenario that
// cannot be satisfied changes nothing on the machine.
type Plan struct {
	Lab       string
	Scenario  *scenarios.Scenario
	State     *fabric.State
	Instances []*InstancePlan
	// FlowLogDir is where the scenario's flow logs write; "" means the lab's run directory
	// (a background lab). In-process labs (the runner, tests) set a directory of their own.
	FlowLogDir string
	// sg is the security-group configuration the State's policy was compiled from.
	sg *sgModel
	// nextHop, when set, gives the gateway an instance's own kernel uses for an address; a
	// trace of a running lab sets it, a static trace leaves it nil.
	nextHop func(st *fabric.State, eni uint32, dst netip.Addr) netip.Addr
	// ephemeral, when set, gives the low end of an instance's ephemeral port range.
	ephemeral func(st *fabric.State, eni uint32) uint16
}

// InstancePlan is one instance to create.
type InstancePlan struct {
	Name     string
	ID       string
	Hostname string
	Type     string
	UserData string
	ENIs     []uint32 // indexes into State.ENIs, eth0 first
}

var labNameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$`)

// ValidateName checks a lab name: it becomes part of namespace and file names.
func ValidateName(name string) error {
	if !labNameRE.MatchString(name) || strings.Contains(name, "--") {
		return fmt.Errorf("lab name %q: want 1-32 characters of a-z, 0-9 and single hyphens, starting and ending with a letter or digit", name)
	}
	return nil
}

// FreshName is a lab name made of base (a scenario's name, perhaps with a prefix) and a random
// suffix, so that runs of one scenario — the runner's, tests', reach --verify's — never meet.
// base is cut to 24 characters without a trailing hyphen, which leaves the name within
// ValidateName's 32 when base is a valid name.
func FreshName(base string) string {
	if len(base) > 24 {
		base = base[:24]
	}
	base = strings.TrimRight(base, "-")
	b := make([]byte, 3)
	rand.Read(b)
	return base + "-" + hex.EncodeToString(b)
}

// awsID makes a stable AWS-style identifier (vpc-0123456789abcdef0) from the lab and object name,
// so that the same scenario gets the same IDs in every run and in every report.
func awsID(prefix, labName, name string) string {
	h := fnv.New64a()
	h.Write([]byte(labName))
	h.Write([]byte{0})
	h.Write([]byte(prefix))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return fmt.Sprintf("%s-%017x", prefix, h.Sum64()&0x0fffffffffffffff)
}

// Hostname is the AWS-style private DNS host name of an instance with primary address a.
func Hostname(a netip.Addr) string {
	return "ip-" + strings.ReplaceAll(a.String(), ".", "-")
}

// NewPlan assigns every ENI its MAC and addresses (fixed ones first, then the lowest free address in
// file order) and builds the fabric's first snapshot.
func NewPlan(sc *scenarios.Scenario, labName string) (*Plan, error) {
	if err := ValidateName(labName); err != nil {
		return nil, err
	}
	macs := mac.NewMACs(labName)
	st := &fabric.State{}
	subnetIdx := map[string]uint32{}
	ipams := map[string]*mac.IPAM{}
	for vi, v := range sc.VPCs {
		st.VPCs = append(st.VPCs, fabric.VPCState{Name: v.Name, ID: awsID("vpc", labName, v.Name), CIDR: v.CIDR, RouterMAC: macs.Next()})
		for _, s := range v.Subnets {
			q := v.Name + "/" + s.Name
			ipam, err := mac.NewIPAM(s.CIDR)
			if err != nil {
				return nil, fmt.Errorf("%s: subnet %s: %w", s.Pos, q, err)
			}
			ipams[q] = ipam
			subnetIdx[q] = uint32(len(st.Subnets))
			base := s.CIDR.Masked().Addr()
			st.Subnets = append(st.Subnets, fabric.SubnetState{
				Name: q, ID: awsID("subnet", labName, q), VPC: uint32(vi), CIDR: s.CIDR,
				Router: base.Next(), DNS: base.Next().Next(),
			})
		}
	}
	// Fixed addresses are claimed before any automatic one is handed out, so that an automatic
	// address never takes an address that a later instance asks for by number.
	for _, in := range sc.Instances {
		for k, e := range in.ENIs {
			owner := fmt.Sprintf("%s.eth%d", in.Name, k)
			ipam, ok := ipams[e.Subnet]
			if !ok {
				return nil, fmt.Errorf("%s: instance %s: no subnet %q", e.Pos, in.Name, e.Subnet)
			}
			for _, a := range append([]netip.Addr{e.IP}, e.SecondaryIPs...) {
				if !a.IsValid() {
					continue
				}
				if err := ipam.Reserve(a, owner); err != nil {
					return nil, fmt.Errorf("%s: instance %s: %w", e.Pos, in.Name, err)
				}
			}
		}
	}
	p := &Plan{Lab: labName, Scenario: sc, State: st}
	for _, in := range sc.Instances {
		ip := &InstancePlan{Name: in.Name, ID: awsID("i", labName, in.Name), Type: in.Type, UserData: in.UserData}
		for k, e := range in.ENIs {
			owner := fmt.Sprintf("%s.eth%d", in.Name, k)
			ipam := ipams[e.Subnet]
			primary := e.IP
			if !primary.IsValid() {
				a, err := ipam.Allocate(owner)
				if err != nil {
					return nil, fmt.Errorf("%s: instance %s: %w", e.Pos, in.Name, err)
				}
				primary = a
			}
			si := subnetIdx[e.Subnet]
			addrs := append([]netip.Addr{primary}, e.SecondaryIPs...)
			ip.ENIs = append(ip.ENIs, uint32(len(st.ENIs)))
			st.ENIs = append(st.ENIs, fabric.ENIState{
				Present:  in.State != scenarios.StateStopped, // a stopped instance's ENIs carry nothing
				ID:       awsID("eni", labName, owner),
				Instance: in.Name,
				Name:     fmt.Sprintf("eth%d", k),
				Subnet:   si,
				VPC:      st.Subnets[si].VPC,
				Identity: mac.Identity{MAC: macs.Next(), Addrs: addrs, SourceDestCheck: e.SourceDestCheck},
			})
		}
		ip.Hostname = Hostname(st.ENIs[ip.ENIs[0]].Identity.Addrs[0])
		p.Instances = append(p.Instances, ip)
	}
	if err := planInternet(sc, st, macs, func(ii, k int) uint32 { return p.Instances[ii].ENIs[k] }); err != nil {
		return nil, err
	}
	planPeerings(sc, labName, st)
	planOnPrem(sc, labName, st, macs)
	if err := planNATGateways(sc, labName, st, macs, ipams, subnetIdx); err != nil {
		return nil, err
	}
	if err := buildNetwork(sc, labName, st, subnetIdx); err != nil {
		return nil, err
	}
	if err := fabric.Index(st); err != nil {
		return nil, err
	}
	m, err := buildSG(sc, labName, st)
	if err != nil {
		return nil, err
	}
	pol, err := m.compile()
	if err != nil {
		return nil, fmt.Errorf("%s: security groups: %w", sc.File, err)
	}
	st.SG, p.sg = pol, m
	return p, nil
}

// Instance returns the planned instance called name.
func (p *Plan) Instance(name string) *InstancePlan {
	for _, in := range p.Instances {
		if in.Name == name {
			return in
		}
	}
	return nil
}
