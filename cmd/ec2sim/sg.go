package main

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/ec2sim/ec2sim/lab"
)

var sgCmd = &command{
	name:    "sg",
	summary: "change security groups on a running lab (authorize, revoke, attach, detach, list)",
	usage: `Usage: ec2sim sg [--lab LAB] authorize|revoke|attach|detach|list ...

  ec2sim sg [--lab LAB] authorize GROUP ingress|egress RULE
  ec2sim sg [--lab LAB] revoke    GROUP ingress|egress RULE
  ec2sim sg [--lab LAB] attach    INSTANCE[.ethN] GROUP
  ec2sim sg [--lab LAB] detach    INSTANCE[.ethN] GROUP
  ec2sim sg [--lab LAB] list

Changes take effect on the next packet. As on AWS, removing a rule does not cut connections that
are tracked; it cuts untracked ones (a TCP or UDP flow allowed by a 0.0.0.0/0 rule while all
ports are open to 0.0.0.0/0 in the other direction) at once. GROUP is a group name, or VPC/NAME
when several VPCs have a group of that name.

RULE is PROTO:PORTS:PEER, the one-line form of docs/scenario-format.md:
  PROTO  tcp, udp, icmp, icmpv6, all (or -1), or a protocol number 0-255
  PORTS  80, 1024-65535, all; for icmp TYPE or TYPE/CODE (-1 = any); empty for all/numbers
  PEER   a CIDR, sg=GROUP (the private IPs of the group's members) or pl=PREFIX-LIST

Examples:
  ec2sim sg revoke web-sg ingress tcp:22:203.0.113.1/32
  ec2sim sg authorize web-sg ingress tcp:443:0.0.0.0/0
  ec2sim sg authorize db-sg ingress tcp:5432:sg=web-sg
  ec2sim sg authorize web-sg ingress icmp:8/-1:0.0.0.0/0
  ec2sim sg revoke web-sg egress all::0.0.0.0/0
  ec2sim sg attach web-1 admin-sg
  ec2sim sg list
`,
}

func init() {
	sgCmd.run = runSG
	extraCommands = append(extraCommands, sgCmd)
}

func runSG(args []string) error {
	fs := newFlags(sgCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	usage := &exitError{2, errors.New("see ec2sim sg --help")}
	if len(pos) == 0 {
		return usage
	}
	var req lab.Request
	switch pos[0] {
	case "authorize", "revoke":
		if len(pos) != 4 {
			return usage
		}
		req = lab.Request{Op: "sg-" + pos[0], Group: pos[1], Direction: pos[2], Rule: pos[3]}
	case "attach", "detach":
		if len(pos) != 3 {
			return usage
		}
		req = lab.Request{Op: "sg-" + pos[0], Target: pos[1], Group: pos[2]}
	case "list":
		req = lab.Request{Op: "status"}
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
	if pos[0] == "list" {
		for _, g := range resp.Status.SecurityGroups {
			fmt.Fprintf(os.Stdout, "%s/%s %s\n", g.VPC, g.Name, g.ID)
			for _, r := range g.Ingress {
				fmt.Fprintf(os.Stdout, "  ingress %s\n", r)
			}
			for _, r := range g.Egress {
				fmt.Fprintf(os.Stdout, "  egress  %s\n", r)
			}
		}
		return nil
	}
	fmt.Printf("%s: done\n", pos[0])
	return nil
}
