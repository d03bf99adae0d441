package lab

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/scenarios"
)

// Changes to network ACLs, route tables and their associations on a running lab. Like AWS's
// API calls they take effect at once — on established connections too, since ACLs are
// stateless — and a change that fails changes nothing.

// ParseACLEntry reads the one-line form of a network ACL rule (scenarios.ParseACLEntry) into the
// engine's type.
func ParseACLEntry(spec string) (fabric.ACLEntry, error) {
	e, err := scenarios.ParseACLEntry(spec)
	if err != nil {
		return fabric.ACLEntry{}, err
	}
	return aclEntry(e), nil
}

// changeState applies fn to a copy of the engine's snapshot and publishes it.
func (l *Lab) changeState(fn func(st *fabric.State) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	cur := l.Engine.State()
	n := *cur
	n.RouteTables = slices.Clone(cur.RouteTables)
	n.ACLs = slices.Clone(cur.ACLs)
	n.Subnets = slices.Clone(cur.Subnets)
	// Index gives every VPC new lookup maps and fills them: on a shared VPCs array that would
	// write into maps the engine's goroutines are reading through the published snapshot.
	n.VPCs = slices.Clone(cur.VPCs)
	if err := fn(&n); err != nil {
		return err
	}
	if err := fabric.Index(&n); err != nil {
		return err
	}
	return l.Engine.Publish(&n)
}

func findACL(st *fabric.State, name string) (int, error) {
	var names []string
	for i, a := range st.ACLs {
		if a.Name == name || a.ID == name {
			return i, nil
		}
		names = append(names, a.Name)
	}
	return 0, fmt.Errorf("no network ACL %q (ACLs: %s)", name, strings.Join(names, ", "))
}

func findTable(st *fabric.State, name string) (int, error) {
	var names []string
	for i, t := range st.RouteTables {
		if t.Name == name || t.ID == name {
			return i, nil
		}
		names = append(names, t.Name)
	}
	return 0, fmt.Errorf("no route table %q (tables: %s)", name, strings.Join(names, ", "))
}

func findSubnet(st *fabric.State, name string) (int, error) {
	var names []string
	for i, s := range st.Subnets {
		if s.Name == name || s.ID == name || strings.HasSuffix(s.Name, "/"+name) {
			return i, nil
		}
		names = append(names, s.Name)
	}
	return 0, fmt.Errorf("no subnet %q (subnets: %s)", name, strings.Join(names, ", "))
}

// editACL runs fn on a copy of one direction's rules of a network ACL and publishes the ACL
// rebuilt from what fn returns; an error from fn changes nothing.
func (l *Lab) editACL(acl, direction string, fn func(name string, list []fabric.ACLEntry) ([]fabric.ACLEntry, error)) error {
	ingress, err := parseDirection(direction)
	if err != nil {
		return err
	}
	return l.changeState(func(st *fabric.State) error {
		i, err := findACL(st, acl)
		if err != nil {
			return err
		}
		a := st.ACLs[i]
		list := a.Egress
		if ingress {
			list = a.Ingress
		}
		list, err = fn(a.Name, slices.Clone(list))
		if err != nil {
			return err
		}
		if ingress {
			st.ACLs[i] = fabric.NewACL(a.Name, a.ID, list, a.Egress)
		} else {
			st.ACLs[i] = fabric.NewACL(a.Name, a.ID, a.Ingress, list)
		}
		return nil
	})
}

// SetACLEntry adds a rule to a network ACL (CreateNetworkAclEntry), or replaces the rule of the
// same number when replace is set (ReplaceNetworkAclEntry).
func (l *Lab) SetACLEntry(acl, direction, spec string, replace bool) error {
	e, err := ParseACLEntry(spec)
	if err != nil {
		return err
	}
	return l.editACL(acl, direction, func(name string, list []fabric.ACLEntry) ([]fabric.ACLEntry, error) {
		k := slices.IndexFunc(list, func(x fabric.ACLEntry) bool { return x.Number == e.Number })
		switch {
		case k >= 0 && !replace:
			return nil, fmt.Errorf("NetworkAclEntryAlreadyExists: %s %s rule %d exists; use replace", name, direction, e.Number)
		case k < 0 && replace:
			return nil, fmt.Errorf("%s has no %s rule %d to replace", name, direction, e.Number)
		case k >= 0:
			list[k] = e
			return list, nil
		}
		return append(list, e), nil
	})
}

// DeleteACLEntry removes a numbered rule (DeleteNetworkAclEntry).
func (l *Lab) DeleteACLEntry(acl, direction string, number int) error {
	return l.editACL(acl, direction, func(name string, list []fabric.ACLEntry) ([]fabric.ACLEntry, error) {
		k := slices.IndexFunc(list, func(x fabric.ACLEntry) bool { return x.Number == number })
		if k < 0 {
			return nil, fmt.Errorf("%s has no %s rule %d", name, direction, number)
		}
		return slices.Delete(list, k, k+1), nil
	})
}

// AssociateACL makes a subnet use another network ACL (ReplaceNetworkAclAssociation).
func (l *Lab) AssociateACL(subnet, acl string) error {
	return l.changeState(func(st *fabric.State) error {
		s, err := findSubnet(st, subnet)
		if err != nil {
			return err
		}
		a, err := findACL(st, acl)
		if err != nil {
			return err
		}
		st.Subnets[s].ACL = uint32(a)
		return nil
	})
}

// AssociateRouteTable makes a subnet use another route table.
func (l *Lab) AssociateRouteTable(subnet, table string) error {
	return l.changeState(func(st *fabric.State) error {
		s, err := findSubnet(st, subnet)
		if err != nil {
			return err
		}
		t, err := findTable(st, table)
		if err != nil {
			return err
		}
		st.Subnets[s].RouteTable = uint32(t)
		return nil
	})
}

func anyIGW(st *fabric.State) bool {
	for _, v := range st.VPCs {
		if v.IGW {
			return true
		}
	}
	return false
}

// AddRoute adds a route (CreateRoute): TARGET is igw, instance/NAME, eni/INSTANCE.ethN or
// blackhole.
func (l *Lab) AddRoute(table, dest, target string) error {
	p, err := netip.ParsePrefix(dest)
	if err != nil || p.Masked() != p {
		return fmt.Errorf("destination %q: want a CIDR without host bits, e.g. 10.0.2.0/24", dest)
	}
	return l.changeState(func(st *fabric.State) error {
		i, err := findTable(st, table)
		if err != nil {
			return err
		}
		t := st.RouteTables[i]
		for _, r := range t.Routes {
			if r.Dest == p {
				return fmt.Errorf("RouteAlreadyExists: %s already has a route to %s", t.Name, p)
			}
		}
		e := fabric.RouteEntry{Dest: p, Name: target}
		kind, name, _ := strings.Cut(target, "/")
		switch kind {
		case "blackhole":
			e.Kind = fabric.TargetBlackhole
		case "igw":
			if !anyIGW(st) {
				return fmt.Errorf("target igw: no internet gateway is attached in this lab")
			}
			e.Kind = fabric.TargetIGW
		case "instance", "eni":
			if kind == "instance" {
				name += ".eth0"
			}
			idx, err := eniOf(st, name)
			if err != nil {
				return err
			}
			e.Kind, e.Index = fabric.TargetENI, idx
		case "vgw", "peering":
			k, idx, err := gatewayTarget(st, kind, name)
			if err != nil {
				return err
			}
			if k == fabric.TargetPeering {
				if err := peeringOfTable(st, l.Plan.Lab, &t, idx); err != nil {
					return err
				}
			}
			e.Kind, e.Index = k, idx
		case "nat":
			idx, err := natGatewayByName(st, name)
			if err != nil {
				return err
			}
			e.Kind, e.Index = fabric.TargetNATGW, idx
		default:
			return fmt.Errorf("target %q: want igw, nat/NAME, vgw, peering/NAME, instance/NAME, eni/INSTANCE.ethN or blackhole", target)
		}
		st.RouteTables[i] = fabric.NewRouteTable(t.Name, t.ID, append(slices.Clone(t.Routes), e))
		return nil
	})
}

// DeleteRoute removes the route to dest (DeleteRoute); the local route cannot be removed.
func (l *Lab) DeleteRoute(table, dest string) error {
	p, err := netip.ParsePrefix(dest)
	if err != nil {
		return fmt.Errorf("destination %q: want a CIDR", dest)
	}
	return l.changeState(func(st *fabric.State) error {
		i, err := findTable(st, table)
		if err != nil {
			return err
		}
		t := st.RouteTables[i]
		k := slices.IndexFunc(t.Routes, func(r fabric.RouteEntry) bool { return r.Dest == p })
		switch {
		case k < 0:
			return fmt.Errorf("InvalidRoute.NotFound: %s has no route to %s", t.Name, p)
		case t.Routes[k].Kind == fabric.TargetLocal:
			return fmt.Errorf("InvalidParameterValue: the local route of %s cannot be deleted", t.Name)
		}
		st.RouteTables[i] = fabric.NewRouteTable(t.Name, t.ID, slices.Delete(slices.Clone(t.Routes), k, k+1))
		return nil
	})
}

func init() {
	extraOps["nacl"] = func(l *Lab, req Request) (any, error) {
		a := req.Args
		switch a["action"] {
		case "add":
			return nil, l.SetACLEntry(a["acl"], a["direction"], a["rule"], false)
		case "replace":
			return nil, l.SetACLEntry(a["acl"], a["direction"], a["rule"], true)
		case "delete":
			n, err := strconv.Atoi(a["number"])
			if err != nil {
				return nil, fmt.Errorf("rule number %q: want 1-32766", a["number"])
			}
			return nil, l.DeleteACLEntry(a["acl"], a["direction"], n)
		case "associate":
			return nil, l.AssociateACL(a["subnet"], a["acl"])
		}
		return nil, fmt.Errorf("nacl action %q: want add, replace, delete or associate", a["action"])
	}
	extraOps["route"] = func(l *Lab, req Request) (any, error) {
		a := req.Args
		switch a["action"] {
		case "add":
			return nil, l.AddRoute(a["table"], a["destination"], a["target"])
		case "delete":
			return nil, l.DeleteRoute(a["table"], a["destination"])
		case "associate":
			return nil, l.AssociateRouteTable(a["subnet"], a["table"])
		}
		return nil, fmt.Errorf("route action %q: want add, delete or associate", a["action"])
	}
	extraOps["network"] = func(l *Lab, req Request) (any, error) { return l.NetworkStatus(), nil }
}

// NetworkStatus describes route tables, ACLs and associations, for `ec2sim nacl list` and
// `ec2sim route list`.
type NetworkStatus struct {
	RouteTables []TableStatus  `json:"route_tables"`
	ACLs        []ACLStatus    `json:"network_acls"`
	Subnets     []SubnetStatus `json:"subnets"`
	// Gateways are the peering connections and VPN gateways that routes name (peering.go).
	Gateways []string `json:"gateways,omitempty"`
}

// TableStatus is one route table.
type TableStatus struct {
	Name   string   `json:"name"`
	ID     string   `json:"id"`
	Routes []string `json:"routes"`
}

// ACLStatus is one network ACL.
type ACLStatus struct {
	Name    string   `json:"name"`
	ID      string   `json:"id"`
	Ingress []string `json:"ingress"`
	Egress  []string `json:"egress"`
}

// SubnetStatus is one subnet's associations.
type SubnetStatus struct {
	Name       string `json:"name"`
	RouteTable string `json:"route_table"`
	ACL        string `json:"network_acl"`
}

// NetworkStatus reports the current route tables, ACLs and associations.
func (l *Lab) NetworkStatus() NetworkStatus {
	st := l.Engine.State()
	var ns NetworkStatus
	for _, t := range st.RouteTables {
		ts := TableStatus{Name: t.Name, ID: t.ID}
		for _, r := range t.Routes {
			ts.Routes = append(ts.Routes, fmt.Sprintf("%s -> %s", r.Dest, r.Name))
		}
		ns.RouteTables = append(ns.RouteTables, ts)
	}
	for _, a := range st.ACLs {
		as := ACLStatus{Name: a.Name, ID: a.ID}
		for _, e := range a.Ingress {
			as.Ingress = append(as.Ingress, aclString(e))
		}
		as.Ingress = append(as.Ingress, "* deny all 0.0.0.0/0")
		for _, e := range a.Egress {
			as.Egress = append(as.Egress, aclString(e))
		}
		as.Egress = append(as.Egress, "* deny all 0.0.0.0/0")
		ns.ACLs = append(ns.ACLs, as)
	}
	for _, s := range st.Subnets {
		ns.Subnets = append(ns.Subnets, SubnetStatus{Name: s.Name, RouteTable: st.RouteTables[s.RouteTable].Name, ACL: st.ACLs[s.ACL].Name})
	}
	ns.Gateways = gatewayStatus(st)
	return ns
}

func aclString(e fabric.ACLEntry) string {
	action := "deny"
	if e.Allow {
		action = "allow"
	}
	proto := scenarios.ProtoName(e.Proto)
	switch e.Proto {
	case scenarios.ProtoTCP, scenarios.ProtoUDP:
		proto += ":" + strconv.Itoa(e.FromPort)
		if e.ToPort != e.FromPort {
			proto += "-" + strconv.Itoa(e.ToPort)
		}
	case scenarios.ProtoICMP, scenarios.ProtoICMPv6:
		proto += fmt.Sprintf(":%d/%d", e.ICMPType, e.ICMPCode)
	}
	return fmt.Sprintf("%d %s %s %s", e.Number, action, proto, e.CIDR)
}
