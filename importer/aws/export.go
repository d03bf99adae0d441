package awsimport

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/ec2sim/ec2sim/scenarios"
)

// File is one exported describe call's output.
type File struct {
	Name string // e.g. Vpcs.json
	Data []byte
}

// ScenarioName makes a valid scenario name of s (a folder's name): "imported" when nothing of it
// is left.
func ScenarioName(s string) string {
	if n := sanitize(s); n != "" {
		return n
	}
	return "imported"
}

// awsID makes a stable, made-up AWS id for a scenario object: the same object always gets the
// same id, so that an export can be diffed against the previous one.
func awsID(prefix, key string) string {
	h := sha256.Sum256([]byte(prefix + "/" + key))
	return prefix + "-" + hex.EncodeToString(h[:])[:17]
}

type jsonObj = map[string]any

func tags(name string) []jsonObj { return []jsonObj{{"Key": "Name", "Value": name}} }

// Export writes a scenario as describe-* output: what Import reads back into the same scenario.
// Like AWS, it describes every VPC's default group, main table and default ACL, also where the
// scenario leaves them implicit (they come back explicit, with the same rules). Warnings name what the describe format cannot
// hold (user data, internet hosts, probes, ...).
func Export(sc *scenarios.Scenario) ([]File, []string, error) {
	var warn []string
	vpcID := func(name string) string { return awsID("vpc", name) }
	subnetID := func(q string) string { return awsID("subnet", q) }
	groupID := func(vpc, g string) string { return awsID("sg", vpc+"/"+g) }
	natID := func(q string) string { return awsID("nat", q) }
	pcxID := func(n string) string { return awsID("pcx", n) }
	vgwID := func(n string) string { return awsID("vgw", n) }
	instID := func(n string) string { return awsID("i", n) }
	eniID := func(in string, k int) string { return awsID("eni", fmt.Sprintf("%s.eth%d", in, k)) }
	plID := func(n string) string { return awsID("pl", n) }

	var vpcs, subnets, igws, vgws, vpns, nats, tables, groups, acls, pcxs, pls, reservations []jsonObj
	for _, o := range sc.OnPrem {
		vpns = append(vpns, jsonObj{"VpnConnectionId": awsID("vpn", o.Name), "VpnGatewayId": vgwID(o.Name), "State": "available",
			"Routes": []jsonObj{{"DestinationCidrBlock": o.CIDR.String(), "State": "available"}}})
		if len(o.Hosts) > 0 {
			warn = append(warn, fmt.Sprintf("on-prem network %s: its hosts are not exported (describe output has no such objects)", o.Name))
		}
	}
	for _, v := range sc.VPCs {
		id := vpcID(v.Name)
		vpcs = append(vpcs, jsonObj{"VpcId": id, "CidrBlock": v.CIDR.String(), "State": "available", "Tags": tags(v.Name),
			"CidrBlockAssociationSet": []jsonObj{{"CidrBlock": v.CIDR.String(), "CidrBlockState": jsonObj{"State": "associated"}}}})
		if v.InternetGateway {
			igws = append(igws, jsonObj{"InternetGatewayId": awsID("igw", v.Name), "Attachments": []jsonObj{{"VpcId": id, "State": "available"}}})
		}
		if v.VPNGateway != "" {
			vgws = append(vgws, jsonObj{"VpnGatewayId": vgwID(v.VPNGateway), "State": "available", "Tags": tags(v.VPNGateway),
				"VpcAttachments": []jsonObj{{"VpcId": id, "State": "attached"}}})
		}
		for _, s := range v.Subnets {
			subnets = append(subnets, jsonObj{"SubnetId": subnetID(s.Qualified()), "VpcId": id, "CidrBlock": s.CIDR.String(),
				"MapPublicIpOnLaunch": s.MapPublicIP, "State": "available", "Tags": tags(s.Name)})
		}
		for _, g := range v.NATGateways {
			n := jsonObj{"NatGatewayId": natID(g.Qualified()), "VpcId": id, "SubnetId": subnetID(g.Subnet), "State": "available", "Tags": tags(g.Name), "ConnectivityType": "public"}
			if g.Private {
				n["ConnectivityType"] = "private"
			}
			if g.ElasticIP.IsValid() {
				n["NatGatewayAddresses"] = []jsonObj{{"PublicIp": g.ElasticIP.String()}}
			}
			nats = append(nats, n)
		}
		for _, g := range v.SecurityGroups {
			groups = append(groups, jsonObj{"GroupId": groupID(v.Name, g.Name), "GroupName": g.Name, "Description": g.Description, "VpcId": id,
				"IpPermissions": permissions(v.Name, g.Ingress, groupID, plID), "IpPermissionsEgress": permissions(v.Name, g.Egress, groupID, plID)})
		}
		for _, t := range v.RouteTables {
			tid := awsID("rtb", v.Name+"/"+t.Name)
			var assocs []jsonObj
			if t.Main {
				assocs = append(assocs, jsonObj{"Main": true, "RouteTableId": tid})
			}
			for _, s := range v.Subnets {
				if s.RouteTable == t.Name {
					assocs = append(assocs, jsonObj{"Main": false, "RouteTableId": tid, "SubnetId": subnetID(s.Qualified())})
				}
			}
			routes := []jsonObj{{"DestinationCidrBlock": v.CIDR.String(), "GatewayId": "local", "State": "active", "Origin": "CreateRouteTable"}}
			for _, r := range t.Routes {
				ro := jsonObj{"DestinationCidrBlock": r.Destination.String(), "State": "active", "Origin": "CreateRoute"}
				switch r.Target.Kind {
				case "igw":
					ro["GatewayId"] = awsID("igw", v.Name)
				case "vgw":
					ro["GatewayId"] = vgwID(v.VPNGateway)
				case "nat":
					ro["NatGatewayId"] = natID(v.Name + "/" + r.Target.Name)
				case "instance":
					ro["InstanceId"] = instID(r.Target.Name)
				case "eni":
					in, eth, _ := strings.Cut(r.Target.Name, ".eth")
					k, _ := strconv.Atoi(eth)
					ro["NetworkInterfaceId"] = eniID(in, k)
				case "peering":
					ro["VpcPeeringConnectionId"] = pcxID(r.Target.Name)
				case "blackhole":
					ro["State"] = "blackhole"
				}
				routes = append(routes, ro)
			}
			tables = append(tables, jsonObj{"RouteTableId": tid, "VpcId": id, "Associations": assocs, "Routes": routes, "Tags": tags(t.Name)})
		}
		for _, a := range v.NetworkACLs {
			aid := awsID("acl", v.Name+"/"+a.Name)
			var assocs []jsonObj
			for _, s := range v.Subnets {
				if s.NetworkACL == a.Name || s.NetworkACL == "" && a.Default {
					assocs = append(assocs, jsonObj{"NetworkAclId": aid, "SubnetId": subnetID(s.Qualified())})
				}
			}
			var entries []jsonObj
			for _, dir := range []struct {
				egress bool
				es     []*scenarios.ACLEntry
			}{{false, a.Ingress}, {true, a.Egress}} {
				for _, e := range dir.es {
					entries = append(entries, aclEntry(e, dir.egress))
				}
				entries = append(entries, jsonObj{"RuleNumber": 32767, "Protocol": "-1", "RuleAction": "deny", "Egress": dir.egress, "CidrBlock": "0.0.0.0/0"})
			}
			tags := tags(a.Name)
			if a.Default {
				tags = nil
			}
			acls = append(acls, jsonObj{"NetworkAclId": aid, "VpcId": id, "IsDefault": a.Default, "Associations": assocs, "Entries": entries, "Tags": tags})
		}
	}
	for _, p := range sc.Peerings {
		end := func(vpc string) jsonObj {
			o := jsonObj{"VpcId": vpcID(vpc)}
			if v := sc.VPC(vpc); v != nil {
				o["CidrBlock"] = v.CIDR.String()
			}
			return o
		}
		pcxs = append(pcxs, jsonObj{"VpcPeeringConnectionId": pcxID(p.Name), "RequesterVpcInfo": end(p.Requester), "AccepterVpcInfo": end(p.Accepter),
			"Status": jsonObj{"Code": "active"}, "Tags": tags(p.Name)})
	}
	for _, pl := range sc.PrefixLists {
		var cidrs []string
		for _, e := range pl.Entries {
			cidrs = append(cidrs, e.String())
		}
		family := "IPv4"
		if pl.IPv6() {
			family = "IPv6"
		}
		pls = append(pls, jsonObj{"PrefixListId": plID(pl.Name), "PrefixListName": pl.Name, "Cidrs": cidrs, "MaxEntries": pl.MaxEntries, "AddressFamily": family, "State": "create-complete"})
	}
	for _, in := range sc.Instances {
		var enis []jsonObj
		for k, e := range in.ENIs {
			vpc := e.VPCName()
			ips := []jsonObj{{"PrivateIpAddress": e.IP.String(), "Primary": true}}
			for _, a := range e.SecondaryIPs {
				ips = append(ips, jsonObj{"PrivateIpAddress": a.String(), "Primary": false})
			}
			var gs []jsonObj
			for _, g := range e.SecurityGroups {
				gs = append(gs, jsonObj{"GroupId": groupID(vpc, g), "GroupName": g})
			}
			eo := jsonObj{"NetworkInterfaceId": eniID(in.Name, k), "SubnetId": subnetID(e.Subnet), "VpcId": vpcID(vpc), "Description": e.Description,
				"PrivateIpAddress": e.IP.String(), "PrivateIpAddresses": ips, "SourceDestCheck": e.SourceDestCheck, "Groups": gs,
				"Attachment": jsonObj{"DeviceIndex": k, "Status": "attached", "InstanceId": instID(in.Name)}, "InterfaceType": "interface"}
			if !e.IP.IsValid() {
				warn = append(warn, fmt.Sprintf("instance %s eth%d: no fixed private IP (the lab assigns one); exported without one, which import refuses", in.Name, k))
			}
			switch {
			case e.ElasticIP.IsValid():
				eo["Association"] = jsonObj{"PublicIp": e.ElasticIP.String(), "IpOwnerId": "amazon"}
			case e.PublicIP:
				warn = append(warn, fmt.Sprintf("instance %s eth%d: an automatic public IP has no address until the lab is up; exported without one", in.Name, k))
			}
			enis = append(enis, eo)
		}
		io := jsonObj{"InstanceId": instID(in.Name), "State": jsonObj{"Name": "running"}, "Tags": tags(in.Name), "NetworkInterfaces": enis}
		if in.Type != "" {
			io["InstanceType"] = in.Type
		}
		if in.UserData != "" {
			warn = append(warn, fmt.Sprintf("instance %s: user data is not exported", in.Name))
		}
		reservations = append(reservations, jsonObj{"Instances": []jsonObj{io}})
	}
	if sc.Internet != nil && len(sc.Internet.Hosts) > 0 {
		warn = append(warn, "the simulated internet's hosts are not exported (they are not AWS objects)")
	}
	if len(sc.Expect) > 0 || len(sc.Steps) > 0 || len(sc.FlowLogs) > 0 {
		warn = append(warn, "probes, steps and flow logs are not exported (they are not describe-* objects)")
	}
	var files []File
	for _, f := range []struct {
		key  string
		list []jsonObj
	}{{"Vpcs", vpcs}, {"Subnets", subnets}, {"InternetGateways", igws}, {"VpnGateways", vgws}, {"VpnConnections", vpns},
		{"NatGateways", nats}, {"VpcPeeringConnections", pcxs}, {"PrefixLists", pls}, {"SecurityGroups", groups},
		{"NetworkAcls", acls}, {"RouteTables", tables}, {"Reservations", reservations}} {
		if f.list == nil {
			f.list = []jsonObj{}
		}
		data, err := json.MarshalIndent(jsonObj{f.key: f.list}, "", "  ")
		if err != nil {
			return nil, warn, err
		}
		files = append(files, File{Name: f.key + ".json", Data: append(data, '\n')})
	}
	return files, warn, nil
}

// protocol writes a protocol as IpProtocol does.
func protocol(p int) string {
	switch p {
	case scenarios.ProtoAll:
		return "-1"
	case scenarios.ProtoTCP:
		return "tcp"
	case scenarios.ProtoUDP:
		return "udp"
	case scenarios.ProtoICMP:
		return "icmp"
	case scenarios.ProtoICMPv6:
		return "icmpv6"
	}
	return strconv.Itoa(p)
}

// permissions writes rules as IpPermissions, one permission per rule.
func permissions(vpc string, rules []*scenarios.Rule, groupID func(string, string) string, plID func(string) string) []jsonObj {
	out := []jsonObj{}
	for _, r := range rules {
		p := jsonObj{"IpProtocol": protocol(r.Proto), "IpRanges": []jsonObj{}, "Ipv6Ranges": []jsonObj{}, "PrefixListIds": []jsonObj{}, "UserIdGroupPairs": []jsonObj{}}
		switch r.Proto {
		case scenarios.ProtoTCP, scenarios.ProtoUDP, scenarios.ProtoICMP, scenarios.ProtoICMPv6:
			p["FromPort"], p["ToPort"] = r.FromPort, r.ToPort
		}
		src := jsonObj{}
		if r.Description != "" {
			src["Description"] = r.Description
		}
		switch {
		case r.Group != "":
			src["GroupId"] = groupID(vpc, r.Group)
			p["UserIdGroupPairs"] = []jsonObj{src}
		case r.PrefixList != "":
			src["PrefixListId"] = plID(r.PrefixList)
			p["PrefixListIds"] = []jsonObj{src}
		case r.CIDR.Addr().Is6():
			src["CidrIpv6"] = r.CIDR.String()
			p["Ipv6Ranges"] = []jsonObj{src}
		default:
			src["CidrIp"] = r.CIDR.String()
			p["IpRanges"] = []jsonObj{src}
		}
		out = append(out, p)
	}
	return out
}

// aclEntry writes one NACL entry as describe-network-acls does.
func aclEntry(e *scenarios.ACLEntry, egress bool) jsonObj {
	action := "deny"
	if e.Allow {
		action = "allow"
	}
	o := jsonObj{"RuleNumber": e.Number, "Protocol": strconv.Itoa(e.Proto), "RuleAction": action, "Egress": egress}
	if e.CIDR.Addr().Is6() {
		o["Ipv6CidrBlock"] = e.CIDR.String()
	} else {
		o["CidrBlock"] = e.CIDR.String()
	}
	switch e.Proto {
	case scenarios.ProtoTCP, scenarios.ProtoUDP:
		o["PortRange"] = jsonObj{"From": e.FromPort, "To": e.ToPort}
	case scenarios.ProtoICMP, scenarios.ProtoICMPv6:
		o["IcmpTypeCode"] = jsonObj{"Type": e.ICMPType, "Code": e.ICMPCode}
	}
	return o
}
