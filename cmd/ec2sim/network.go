package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/lab"
)

var naclCmd = &command{
	name:    "nacl",
	summary: "change network ACLs and their subnet associations on a running lab",
	usage: `Usage: ec2sim nacl [--lab LAB] add|replace ACL ingress|egress "NUMBER allow|deny PROTO[:PORTS|:TYPE/CODE] CIDR"
       ec2sim nacl [--lab LAB] delete ACL ingress|egress NUMBER
       ec2sim nacl [--lab LAB] associate SUBNET ACL
       ec2sim nacl [--lab LAB] list

Network ACLs are stateless and evaluated where traffic leaves or enters a subnet, lowest rule
number first. A change takes effect on the next packet, on established connections too: that is
how AWS says to cut traffic at once.

Examples:
  ec2sim nacl add web-acl ingress "100 allow tcp:443 0.0.0.0/0"
  ec2sim nacl add web-acl egress "120 allow tcp:1024-65535 0.0.0.0/0"
  ec2sim nacl replace web-acl ingress "100 deny all 0.0.0.0/0"
  ec2sim nacl delete web-acl ingress 100
  ec2sim nacl associate main/web web-acl
  ec2sim nacl list
`,
}

var routeCmd = &command{
	name:    "route",
	summary: "change route tables and their subnet associations on a running lab",
	usage: `Usage: ec2sim route [--lab LAB] add TABLE DESTINATION TARGET
       ec2sim route [--lab LAB] delete TABLE DESTINATION
       ec2sim route [--lab LAB] associate SUBNET TABLE
       ec2sim route [--lab LAB] list

TARGET is igw, nat/NAME (a NAT gateway), vgw (the VPC's VPN gateway), peering/NAME,
instance/NAME (its eth0), eni/INSTANCE.ethN or blackhole. The longest matching prefix wins;
every table keeps its local route.

Examples:
  ec2sim route add via-fw 10.0.2.0/24 instance/fw
  ec2sim route add main 172.16.0.0/12 blackhole
  ec2sim route add to-corp 192.168.0.0/16 vgw
  ec2sim route add main 0.0.0.0/0 nat/nat-a
  ec2sim route delete via-fw 10.0.2.0/24
  ec2sim route associate main/app via-fw
  ec2sim route list
`,
}

func init() {
	naclCmd.run = func(args []string) error { return runNetwork(naclCmd, args) }
	routeCmd.run = func(args []string) error { return runNetwork(routeCmd, args) }
	extraCommands = append(extraCommands, naclCmd, routeCmd)
}

func runNetwork(c *command, args []string) error {
	fs := newFlags(c)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	usage := &exitError{2, fmt.Errorf("see ec2sim %s --help", c.name)}
	if len(pos) == 0 {
		return usage
	}
	req := lab.Request{Op: c.name, Args: map[string]string{"action": pos[0]}}
	a := req.Args
	switch c.name + " " + pos[0] {
	case "nacl add", "nacl replace":
		if len(pos) != 4 {
			return usage
		}
		a["acl"], a["direction"], a["rule"] = pos[1], pos[2], pos[3]
	case "nacl delete":
		if len(pos) != 4 {
			return usage
		}
		a["acl"], a["direction"], a["number"] = pos[1], pos[2], pos[3]
	case "nacl associate":
		if len(pos) != 3 {
			return usage
		}
		a["subnet"], a["acl"] = pos[1], pos[2]
	case "route add":
		if len(pos) != 4 {
			return usage
		}
		a["table"], a["destination"], a["target"] = pos[1], pos[2], pos[3]
	case "route delete":
		if len(pos) != 3 {
			return usage
		}
		a["table"], a["destination"] = pos[1], pos[2]
	case "route associate":
		if len(pos) != 3 {
			return usage
		}
		a["subnet"], a["table"] = pos[1], pos[2]
	case "nacl list", "route list":
		req = lab.Request{Op: "network"}
	default:
		return usage
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	resp, err := lab.Call(name, req, 10*time.Second)
	if err != nil {
		return err
	}
	if pos[0] != "list" {
		fmt.Printf("%s %s: done\n", c.name, pos[0])
		return nil
	}
	var ns lab.NetworkStatus
	if err := lab.DecodeResult(resp, &ns); err != nil {
		return err
	}
	if c.name == "route" {
		for _, t := range ns.RouteTables {
			fmt.Printf("%s %s\n  %s\n", t.Name, t.ID, strings.Join(t.Routes, "\n  "))
		}
		if len(ns.Gateways) > 0 {
			fmt.Printf("gateways:\n  %s\n", strings.Join(ns.Gateways, "\n  "))
		}
	} else {
		for _, acl := range ns.ACLs {
			fmt.Printf("%s %s\n  ingress: %s\n  egress:  %s\n", acl.Name, acl.ID, strings.Join(acl.Ingress, "; "), strings.Join(acl.Egress, "; "))
		}
	}
	fmt.Println("associations:")
	for _, s := range ns.Subnets {
		fmt.Printf("  %-20s route table %-12s network ACL %s\n", s.Name, s.RouteTable, s.ACL)
	}
	return nil
}
