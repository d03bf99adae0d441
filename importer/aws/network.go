package awsimport

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// NAT gateways, instances and their ENIs, Elastic IPs, peering and route tables.

func (c *converter) natGateways() {
	for _, it := range c.s.nats {
		v := it.v
		c.fields("NatGateways", it.raw)
		what := obj("NAT gateway", v.NatGatewayID)
		if v.State != "available" {
			c.rep.skip(what+" ("+it.src.String()+")", "state %s: only available NAT gateways are modelled", v.State)
			continue
		}
		vpc := c.vpcs[v.VpcID]
		if vpc == nil {
			c.fail(it.src, what, "VpcId %s is not in the data (no Vpcs object has it)", v.VpcID)
			continue
		}
		sn := c.subnetOf(it.src, what, v.SubnetID)
		if sn == nil {
			continue
		}
		if v.ConnectivityType != "private" && !vpc.InternetGateway {
			// AWS lets the internet gateway be detached from under a public NAT gateway; such a
			// gateway reaches nothing, and the format refuses it (Gateway.NotAttached).
			c.rep.skip(what+" ("+it.src.String()+")", "a public NAT gateway in VPC %s, which has no internet gateway in the data", v.VpcID)
			continue
		}
		g := &scenarios.NATGateway{Name: c.name("nat/"+vpc.Name, "NAT gateway", nameTag(v.Tags), v.NatGatewayID, it.src),
			VPC: vpc.Name, Subnet: sn.Qualified(), Private: v.ConnectivityType == "private"}
		for i, a := range v.NatGatewayAddresses {
			if i > 0 {
				c.rep.Unmodelled["NatGateways: secondary addresses"]++
				continue
			}
			if a.PrivateIP != "" {
				c.rep.Unmodelled["NatGateways.NatGatewayAddresses.PrivateIp (the lab assigns one)"]++
			}
			if a.PublicIP != "" && !g.Private {
				ip, err := c.publicAddr(a.PublicIP, what+" Elastic IP")
				if err != nil {
					c.fail(it.src, what, "PublicIp: %v", err)
					continue
				}
				g.ElasticIP = ip
			}
		}
		vpc.NATGateways = append(vpc.NATGateways, g)
		c.nats[v.NatGatewayID] = g
		c.rep.Imported["NAT gateways"]++
	}
}

func (c *converter) instancesFrom() {
	byInstance := map[string][]item[awsENI]{}
	for _, e := range c.s.enis {
		if a := e.v.Attachment; a != nil && a.InstanceID != "" {
			byInstance[a.InstanceID] = append(byInstance[a.InstanceID], e)
		}
	}
	for _, r := range c.s.reservations {
		c.fields("Reservations", r)
	}
	for _, it := range c.s.instances {
		v := it.v
		c.fields("Instances", it.raw)
		what := obj("instance", v.InstanceID)
		if c.instances[v.InstanceID] != nil {
			c.fail(it.src, what, "described twice")
			continue
		}
		if s := v.State.Name; s != "" && s != "running" && s != "pending" {
			c.rep.skip(what+" ("+it.src.String()+")", "state %s: only running and pending instances are modelled", s)
			continue
		}
		enis := byInstance[v.InstanceID]
		if len(enis) == 0 {
			// No NetworkInterfaces file: the instance's own list says the same.
			c.nested("Instances", "NetworkInterfaces", it.raw)
			for _, e := range v.NetworkInterfaces {
				enis = append(enis, item[awsENI]{src: it.src, v: e})
			}
		}
		if len(enis) == 0 {
			c.rep.skip(what+" ("+it.src.String()+")", "no network interfaces in the data")
			continue
		}
		slices.SortStableFunc(enis, func(a, b item[awsENI]) int { return deviceIndex(a.v) - deviceIndex(b.v) })
		in := &scenarios.Instance{Name: c.name("instances", "instance", nameTag(v.Tags), v.InstanceID, it.src), Type: v.InstanceType}
		if scenarios.CheckInstanceType(in.Type) != nil {
			c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("instance %s: type %s is not one ec2sim models; it runs as the default, %s", v.InstanceID, in.Type, scenarios.DefaultInstanceType))
			in.Type = ""
		}
		ok := true
		for k, e := range enis {
			eni, good := c.eni(e, in.Name, k)
			if !good {
				ok = false
				break
			}
			in.ENIs = append(in.ENIs, eni)
		}
		if !ok {
			c.rep.skip(what+" ("+it.src.String()+")", "one of its network interfaces could not be imported (see above)")
			continue
		}
		for k, e := range enis {
			c.enis[e.v.NetworkInterfaceID] = eniRef{in.Name, k}
		}
		c.instances[v.InstanceID] = in
		c.sc.Instances = append(c.sc.Instances, in)
		c.rep.Imported["instances"]++
		c.rep.Imported["network interfaces"] += len(in.ENIs)
	}
}

func deviceIndex(e awsENI) int {
	if e.Attachment == nil {
		return 0
	}
	return e.Attachment.DeviceIndex
}

// eni converts one network interface of an instance.
func (c *converter) eni(it item[awsENI], instance string, k int) (*scenarios.ENI, bool) {
	e := it.v
	if it.raw != nil {
		c.fields("NetworkInterfaces", it.raw)
	}
	what := obj("network interface", e.NetworkInterfaceID)
	sn := c.subnetOf(it.src, what, e.SubnetID)
	if sn == nil {
		return nil, false
	}
	out := &scenarios.ENI{Subnet: sn.Qualified(), SourceDestCheck: e.SourceDestCheck == nil || *e.SourceDestCheck, Description: clip(e.Description)}
	ip, err := netip.ParseAddr(e.PrivateIPAddress)
	if err != nil {
		c.fail(it.src, what, "PrivateIpAddress %q: want an IPv4 address", e.PrivateIPAddress)
		return nil, false
	}
	out.IP = ip
	for _, p := range e.PrivateIPAddresses {
		a, err := netip.ParseAddr(p.PrivateIPAddress)
		if err != nil {
			c.fail(it.src, what, "PrivateIpAddresses: %q: want an IPv4 address", p.PrivateIPAddress)
			return nil, false
		}
		if a == ip {
			continue
		}
		out.SecondaryIPs = append(out.SecondaryIPs, a)
		if p.Association != nil && p.Association.PublicIP != "" {
			c.rep.Unmodelled["NetworkInterfaces: public IPs of secondary private IPs"]++
		}
	}
	if n := len(e.Ipv6Addresses); n > 0 {
		c.rep.Unmodelled["NetworkInterfaces.Ipv6Addresses"] += n
	}
	vpcID := ""
	for id, v := range c.vpcs {
		if v.Name == sn.VPC {
			vpcID = id
		}
	}
	for _, g := range e.Groups {
		ref, ok := c.groups[g.GroupID]
		switch {
		case !ok:
			c.fail(it.src, what, "group %s (%s) is not in the data (no SecurityGroups object has that GroupId)", g.GroupID, g.GroupName)
			return nil, false
		case ref.vpcID != vpcID:
			c.fail(it.src, what, "group %s is in VPC %s, not in the interface's VPC %s", g.GroupID, ref.vpcID, vpcID)
			return nil, false
		}
		out.SecurityGroups = append(out.SecurityGroups, ref.name)
	}
	if a := e.Association; a != nil && a.PublicIP != "" {
		kind := "public IP"
		if c.eip[a.PublicIP] || (a.IPOwnerID != "" && a.IPOwnerID != "amazon") {
			kind = "Elastic IP"
		}
		pub, err := c.publicAddr(a.PublicIP, fmt.Sprintf("instance %s eth%d %s", instance, k, kind))
		if err != nil {
			c.fail(it.src, what, "Association.PublicIp: %v", err)
			return nil, false
		}
		// The lab gives every public address as a fixed one, so that the mapping above holds;
		// an automatic public IP would come from the lab's pool instead.
		out.ElasticIP = pub
	}
	return out, true
}

func (c *converter) addressesFrom() {
	for _, it := range c.s.addresses {
		v := it.v
		c.fields("Addresses", it.raw)
		what := obj("Elastic IP", v.PublicIP)
		if v.NetworkInterfaceID == "" && v.InstanceID == "" {
			c.rep.skip(what+" ("+it.src.String()+")", "not associated with anything")
			continue
		}
		if ref, ok := c.enis[v.NetworkInterfaceID]; ok {
			in := c.sc.Instance(ref.instance)
			e := in.ENIs[ref.k]
			if v.PrivateIPAddress != "" && v.PrivateIPAddress != e.IP.String() {
				c.rep.Unmodelled["Addresses: associated with a secondary private IP"]++
				c.rep.skip(what+" ("+it.src.String()+")", "associated with secondary private IP %s; the format gives Elastic IPs to an ENI's primary IP", v.PrivateIPAddress)
				continue
			}
			if !e.ElasticIP.IsValid() {
				ip, err := c.publicAddr(v.PublicIP, fmt.Sprintf("instance %s eth%d Elastic IP", ref.instance, ref.k))
				if err != nil {
					c.fail(it.src, what, "%v", err)
					continue
				}
				e.ElasticIP = ip
			}
			c.rep.Imported["Elastic IPs"]++
			continue
		}
		natEIP := false
		for _, n := range c.s.nats {
			for _, a := range n.v.NatGatewayAddresses {
				natEIP = natEIP || a.PublicIP == v.PublicIP
			}
		}
		if !natEIP {
			c.rep.skip(what+" ("+it.src.String()+")", "associated with %s, which is not imported", cmp.Or(v.NetworkInterfaceID, v.InstanceID))
		}
	}
}

func (c *converter) peeringsFrom() {
	for _, it := range c.s.peerings {
		v := it.v
		c.fields("VpcPeeringConnections", it.raw)
		what := obj("peering connection", v.VpcPeeringConnectionID)
		if v.Status.Code != "active" {
			c.rep.skip(what+" ("+it.src.String()+")", "status %s: only active peering connections are modelled", v.Status.Code)
			continue
		}
		req, acc := c.vpcs[v.RequesterVpcInfo.VpcID], c.vpcs[v.AccepterVpcInfo.VpcID]
		if req == nil || acc == nil {
			missing := v.RequesterVpcInfo
			if req != nil {
				missing = v.AccepterVpcInfo
			}
			c.rep.Unmodelled["VpcPeeringConnections: to a VPC not in the data"]++
			c.rep.skip(what+" ("+it.src.String()+")", "VPC %s (account %s, region %s) is not in the data; add that account's or region's output to import it", missing.VpcID, missing.OwnerID, missing.Region)
			continue
		}
		if req.CIDR.Overlaps(acc.CIDR) {
			c.fail(it.src, what, "VPC %s (%s) and VPC %s (%s) overlap; AWS refuses to peer overlapping VPCs", v.RequesterVpcInfo.VpcID, req.CIDR, v.AccepterVpcInfo.VpcID, acc.CIDR)
			continue
		}
		name := c.name("peerings", "peering connection", nameTag(v.Tags), v.VpcPeeringConnectionID, it.src)
		c.sc.Peerings = append(c.sc.Peerings, &scenarios.Peering{Name: name, Requester: req.Name, Accepter: acc.Name})
		c.peerings[v.VpcPeeringConnectionID] = name
		c.rep.Imported["peering connections"]++
	}
}

func (c *converter) routeTables() {
	// Main tables first, so that one named main keeps its name; a table named main is the
	// main table in the format, so no other table may take the name.
	isMain := func(t awsRouteTable) bool {
		return slices.ContainsFunc(t.Associations, func(a awsRouteTableAssoc) bool { return a.Main })
	}
	tables := slices.Clone(c.s.tables)
	slices.SortStableFunc(tables, func(a, b item[awsRouteTable]) int {
		return boolInt(!isMain(a.v)) - boolInt(!isMain(b.v))
	})
	for _, it := range tables {
		v := it.v
		if vpc := c.vpcs[v.VpcID]; vpc != nil && !isMain(v) {
			c.reserve("rt/"+vpc.Name, scenarios.MainRouteTable)
		}
		c.fields("RouteTables", it.raw)
		c.nested("RouteTables", "Routes", it.raw)
		what := obj("route table", v.RouteTableID)
		vpc := c.vpcs[v.VpcID]
		if vpc == nil {
			c.fail(it.src, what, "VpcId %s is not in the data (no Vpcs object has it)", v.VpcID)
			continue
		}
		main := false
		for _, a := range v.Associations {
			main = main || a.Main
		}
		t := &scenarios.RouteTable{Name: c.name("rt/"+vpc.Name, "route table", nameTag(v.Tags), v.RouteTableID, it.src), VPC: vpc.Name, Main: main, Routes: []*scenarios.Route{}}
		for i, r := range v.Routes {
			if rt, ok := c.route(it.src, fmt.Sprintf("%s route %d", what, i+1), v.VpcID, r); ok {
				t.Routes = append(t.Routes, rt)
			}
		}
		for _, a := range v.Associations {
			switch {
			case a.SubnetID != "":
				if sn := c.associated(it.src, what, a.SubnetID, vpc.Name); sn != nil {
					sn.RouteTable = t.Name
				}
			case a.GatewayID != "":
				c.rep.Unmodelled["RouteTables: gateway (edge) associations"]++
			}
		}
		if main {
			if m := vpc.MainTable(); m != nil {
				c.fail(it.src, what, "VPC %s already has a main route table", v.VpcID)
				continue
			}
			vpc.RouteTables = slices.Insert(vpc.RouteTables, 0, t)
		} else {
			vpc.RouteTables = append(vpc.RouteTables, t)
		}
		c.rep.Imported["route tables"]++
	}
}

// route converts one route; the local route, which every table has, is implied.
func (c *converter) route(src Source, what, vpcID string, r awsRoute) (*scenarios.Route, bool) {
	left := func(kind string) (*scenarios.Route, bool) {
		c.rep.Unmodelled["RouteTables: "+kind]++
		c.rep.skip(what+" ("+src.String()+")", "%s", kind)
		return nil, false
	}
	if r.GatewayID == "local" {
		return nil, false
	}
	switch {
	case r.DestinationIpv6CidrBlock != "":
		return left("IPv6 routes")
	case r.DestinationPrefixListID != "":
		return left("routes to a prefix list (gateway endpoints)")
	}
	dest, err := c.prefix(r.DestinationCidrBlock, what)
	if err != nil {
		c.fail(src, what, "DestinationCidrBlock: %v", err)
		return nil, false
	}
	out := &scenarios.Route{Destination: dest}
	if r.State == "blackhole" {
		out.Target = scenarios.RouteTarget{Kind: "blackhole"}
		return out, true
	}
	switch {
	case r.NatGatewayID != "":
		g := c.nats[r.NatGatewayID]
		if g == nil {
			return c.missingTarget(src, what, "NAT gateway", r.NatGatewayID, c.natInData(r.NatGatewayID))
		}
		out.Target = scenarios.RouteTarget{Kind: "nat", Name: g.Name}
	case r.VpcPeeringConnectionID != "":
		name, ok := c.peerings[r.VpcPeeringConnectionID]
		if !ok {
			return c.missingTarget(src, what, "peering connection", r.VpcPeeringConnectionID, c.peeringInData(r.VpcPeeringConnectionID))
		}
		out.Target = scenarios.RouteTarget{Kind: "peering", Name: name}
	case r.NetworkInterfaceID != "":
		ref, ok := c.enis[r.NetworkInterfaceID]
		if !ok {
			return c.missingTarget(src, what, "network interface", r.NetworkInterfaceID, c.eniInData(r.NetworkInterfaceID))
		}
		out.Target = scenarios.RouteTarget{Kind: "eni", Name: fmt.Sprintf("%s.eth%d", ref.instance, ref.k)}
	case r.InstanceID != "":
		in := c.instances[r.InstanceID]
		if in == nil {
			return c.missingTarget(src, what, "instance", r.InstanceID, c.instanceInData(r.InstanceID))
		}
		out.Target = scenarios.RouteTarget{Kind: "instance", Name: in.Name}
		if len(in.ENIs) > 1 {
			// AWS routes to an instance's primary interface; the format names it for an
			// instance with several.
			out.Target = scenarios.RouteTarget{Kind: "eni", Name: in.Name + ".eth0"}
		}
	case strings.HasPrefix(r.GatewayID, "igw-"):
		if c.igws[r.GatewayID] != vpcID {
			c.fail(src, what, "internet gateway %s is not in the data as attached to VPC %s", r.GatewayID, vpcID)
			return nil, false
		}
		out.Target = scenarios.RouteTarget{Kind: "igw"}
	case strings.HasPrefix(r.GatewayID, "vgw-"):
		if c.vgws[r.GatewayID] != vpcID {
			c.fail(src, what, "VPN gateway %s is not in the data as attached to VPC %s", r.GatewayID, vpcID)
			return nil, false
		}
		out.Target = scenarios.RouteTarget{Kind: "vgw"}
	case r.TransitGatewayID != "":
		return left("routes to transit gateways")
	case strings.HasPrefix(r.GatewayID, "vpce-"):
		return left("routes to VPC endpoints")
	case r.EgressOnlyInternetGatewayID != "":
		return left("routes to egress-only internet gateways")
	case r.CarrierGatewayID != "":
		return left("routes to carrier gateways")
	case r.LocalGatewayID != "":
		return left("routes to local gateways")
	case r.CoreNetworkArn != "":
		return left("routes to Cloud WAN core networks")
	default:
		return left("routes with a target the importer does not know")
	}
	return out, true
}

// missingTarget handles a route whose target was not imported: skipped (it is in the data but
// not active or not modelled) or an error (it is not in the data at all).
func (c *converter) missingTarget(src Source, what, kind, id string, inData bool) (*scenarios.Route, bool) {
	if inData {
		c.rep.skip(what+" ("+src.String()+")", "its target %s %s was skipped", kind, id)
		return nil, false
	}
	c.fail(src, what, "target %s %s is not in the data", kind, id)
	return nil, false
}

func (c *converter) natInData(id string) bool {
	return slices.ContainsFunc(c.s.nats, func(n item[awsNATGateway]) bool { return n.v.NatGatewayID == id })
}

func (c *converter) peeringInData(id string) bool {
	return slices.ContainsFunc(c.s.peerings, func(n item[awsPeering]) bool { return n.v.VpcPeeringConnectionID == id })
}

func (c *converter) instanceInData(id string) bool {
	return slices.ContainsFunc(c.s.instances, func(n item[awsInstance]) bool { return n.v.InstanceID == id })
}

func (c *converter) eniInData(id string) bool {
	if slices.ContainsFunc(c.s.enis, func(n item[awsENI]) bool { return n.v.NetworkInterfaceID == id }) {
		return true
	}
	for _, in := range c.s.instances {
		for _, e := range in.v.NetworkInterfaces {
			if e.NetworkInterfaceID == id {
				return true
			}
		}
	}
	return false
}

// otherENIs reports the network interfaces that belong to no imported instance.
func (c *converter) otherENIs() {
	for _, e := range c.s.enis {
		if _, ok := c.enis[e.v.NetworkInterfaceID]; ok {
			continue
		}
		switch a := e.v.Attachment; {
		case e.v.InterfaceType == "nat_gateway":
			// The NAT gateway itself is modelled (or reported); the lab gives it its interface.
		case a != nil && a.InstanceID != "" && c.instanceInData(a.InstanceID):
			// Its instance was skipped, and the report says why.
		default:
			t := cmp.Or(e.v.InterfaceType, "interface")
			c.rep.Unmodelled["NetworkInterfaces: type "+t+" not attached to an imported instance"]++
			c.rep.skip(obj("network interface", e.v.NetworkInterfaceID)+" ("+e.src.String()+")", "type %s, not attached to an instance (%s)", t, clip(e.v.Description))
		}
	}
}

// settings raises the adjustable quotas to what the data uses, as the account must have.
func (c *converter) settings() {
	st := &c.sc.Settings
	for _, in := range c.sc.Instances {
		for _, e := range in.ENIs {
			st.SecurityGroupsPerENI = max(st.SecurityGroupsPerENI, min(len(e.SecurityGroups), scenarios.MaxSecurityGroupsPerENI))
		}
	}
	for _, v := range c.sc.VPCs {
		for _, g := range v.SecurityGroups {
			for _, rules := range [][]*scenarios.Rule{g.Ingress, g.Egress} {
				var v4, v6 int
				for _, r := range rules {
					switch {
					case r.Group != "":
						v4++
						v6++
					case r.PrefixList != "":
						if pl := c.sc.PrefixList(r.PrefixList); pl != nil {
							if pl.IPv6() {
								v6 += pl.MaxEntries
							} else {
								v4 += pl.MaxEntries
							}
						}
					case r.CIDR.Addr().Is6():
						v6++
					default:
						v4++
					}
				}
				st.RulesPerSecurityGroup = max(st.RulesPerSecurityGroup, v4, v6)
			}
		}
		for _, a := range v.NetworkACLs {
			for _, es := range [][]*scenarios.ACLEntry{a.Ingress, a.Egress} {
				var v4, v6 int
				for _, e := range es {
					if e.CIDR.Addr().Is6() {
						v6++
					} else {
						v4++
					}
				}
				if n := max(v4, v6); n > scenarios.DefaultNACLRulesPerDirection {
					st.NetworkACLRulesPerDirection = max(st.NetworkACLRulesPerDirection, n)
				}
			}
		}
	}
	if st.SecurityGroupsPerENI*st.RulesPerSecurityGroup > scenarios.MaxGroupsTimesRules {
		// Keep the product within AWS's limit: the groups per ENI the data needs win.
		st.RulesPerSecurityGroup = max(scenarios.MaxGroupsTimesRules/st.SecurityGroupsPerENI, 1)
		c.rep.Warnings = append(c.rep.Warnings, fmt.Sprintf("settings: the data needs more rules per group than %d groups per ENI allow (AWS: groups × rules ≤ %d)", st.SecurityGroupsPerENI, scenarios.MaxGroupsTimesRules))
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// subnetOf returns the subnet an object is in, or nil: skipped with it (said) or not in the data
// (an error).
func (c *converter) subnetOf(src Source, what, id string) *scenarios.Subnet {
	sn := c.subnets[id]
	switch {
	case sn != nil:
	case c.subnetSkipped(id):
		c.rep.skip(what+" ("+src.String()+")", "its subnet %s was skipped", id)
	default:
		c.fail(src, what, "SubnetId %s is not in the data (no Subnets object has it)", id)
	}
	return sn
}
