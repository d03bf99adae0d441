package main

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

var instanceCmd = &command{
	name:    "instance",
	summary: "start, stop, reboot or terminate an instance of a running lab, or describe it",
	usage: `Usage: ec2sim instance [--lab LAB] start|stop|reboot|terminate|describe NAME

The instance lifecycle as EC2 has it:

  pending -> running -> stopping -> stopped -> (start) pending -> running
  running | stopped -> shutting-down -> terminated;  reboot keeps it running

stop       ends the instance's processes, takes its ENIs out of the fabric (traffic to them is
           dropped), scrubs and frees its memory and instance store, detaches its EBS volumes
start      gives it memory and an empty instance store again; private IPs, MACs and EBS data
           stay, an auto-assigned public IP changes, an Elastic IP stays
reboot     restarts its processes over the same memory, disks and addresses (nothing scrubbed)
terminate  as stop, and deletes (scrubs and frees) its delete-on-termination volumes
describe   prints its state, type, memory grant and volumes

An operation the instance's state does not allow (start a running instance) is an
IncorrectInstanceState error and changes nothing. Every scrub is in ` + "`ec2sim audit`" + `.

Examples:
  ec2sim instance stop web-1
  ec2sim instance start web-1
  ec2sim instance --lab hypervisor-scrub terminate a
  ec2sim instance describe b
`,
}

func init() {
	instanceCmd.run = runInstance
	extraCommands = append(extraCommands, instanceCmd)
}

func runInstance(args []string) error {
	fs := newFlags(instanceCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	actions := append([]string{"describe"}, scenarios.InstanceActions...)
	if len(pos) != 2 || !slices.Contains(actions, pos[0]) {
		return &exitError{2, fmt.Errorf("want ACTION INSTANCE with ACTION one of %s; see ec2sim instance --help", strings.Join(actions, ", "))}
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	resp, err := lab.Call(name, lab.Request{Op: "instance", Target: pos[1], Args: map[string]string{"action": pos[0]}}, 2*time.Minute)
	if err != nil {
		return err
	}
	if pos[0] == "describe" {
		var info lab.InstanceInfo
		if err := lab.DecodeResult(resp, &info); err != nil {
			return err
		}
		fmt.Printf("%s: %s, %s\n", pos[1], info.State, info.Type)
		if info.Memory != "" {
			fmt.Printf("  memory  %s\n", info.Memory)
		}
		for _, v := range info.Volumes {
			fmt.Printf("  volume  %s\n", v)
		}
		return nil
	}
	var msg string
	if err := lab.DecodeResult(resp, &msg); err != nil {
		return err
	}
	fmt.Println(msg)
	return nil
}

// instanceState asks lab name's engine for an instance's state; "" when it cannot tell.
func instanceState(name, instance string) string {
	resp, err := lab.Call(name, lab.Request{Op: "instance", Target: instance, Args: map[string]string{"action": "describe"}}, 5*time.Second)
	if err != nil {
		return ""
	}
	var info lab.InstanceInfo
	if lab.DecodeResult(resp, &info) != nil {
		return ""
	}
	return info.State
}
