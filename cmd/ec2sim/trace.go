package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

var traceCmd = &command{
	name:    "trace",
	summary: "explain a packet's path hop by hop, and every component that blocks it",
	usage: `Usage: ec2sim trace [--lab LAB | FILE] --from INSTANCE|HOST --to INSTANCE|HOST|IP --proto tcp|udp|icmp [--port N] [--live] [--json]

Runs a synthetic packet through the same decision function the engine uses and prints every hop
with its decision: the security group rule that allowed it, the route that carried it, the
network ACL rule number that allowed or denied it, the checks on the way. When the packet is
blocked, it lists every component that blocks it (not only the first), with Reachability
Analyzer's explanation codes (ENI_SG_RULES_MISMATCH, SUBNET_ACL_RESTRICTION, CANNOT_ROUTE, ...;
codes with no Reachability Analyzer equivalent start with EC2SIM_). When the packet arrives, it
follows the reply back, as conntrack would see it.

With --lab (or when one lab is running and no FILE is given) it traces the running lab's current
rules; with FILE it traces the scenario without bringing anything up (no root needed).

With --live (a running lab only) it also sends one real exchange as a probe does — a TCP
connection, a UDP datagram answered by an echo listener, or an ICMP echo — from the source's
namespace (an instance, an internet or on-premises host), records the engine's actual decisions
on the first packet each way, and prints them next to the prediction hop by hop, marking every
hop where they differ with "!=". The prediction uses the source port the kernel picked.

Exit status: 0 reachable both ways, 1 blocked, 2 bad arguments or scenario; with --live, 3 when
the engine's decisions differ from the prediction.

Examples:
  ec2sim trace --from web-1 --to db-1 --proto tcp --port 5432
  ec2sim trace scenarios/suites/aws-web-db-groups.yaml --from web --to other --proto tcp --port 80
  ec2sim trace --lab two-tier --from web-1 --to 10.0.2.10 --proto icmp --json
  ec2sim trace --lab two-tier --live --from client --to web-1@public --proto tcp --port 80
`,
}

func init() {
	traceCmd.run = runTrace
	extraCommands = append(extraCommands, traceCmd)
}

func runTrace(args []string) error {
	fs := newFlags(traceCmd)
	labName := fs.String("lab", "", "trace a running lab")
	from := fs.String("from", "", "source instance (or instance.ethN)")
	to := fs.String("to", "", "destination instance, instance.ethN or IP address")
	proto := fs.String("proto", "tcp", "tcp, udp or icmp")
	port := fs.Int("port", 0, "destination port (tcp, udp)")
	asJSON := fs.Bool("json", false, "print JSON")
	live := fs.Bool("live", false, "also send a real packet and show the engine's decisions next to the prediction")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if *from == "" || *to == "" || len(pos) > 1 || (len(pos) == 1 && *labName != "") {
		return &exitError{2, errors.New("want [--lab LAB | FILE] --from A --to B --proto P [--port N] (see ec2sim trace --help)")}
	}
	if *live {
		if len(pos) == 1 {
			return &exitError{2, errors.New("--live sends real packets: it needs a running lab (--lab LAB), not a scenario file")}
		}
		return runTraceLive(*labName, *from, *to, *proto, *port, *asJSON)
	}
	req := lab.TraceRequest{From: *from, To: *to, Proto: *proto, Port: *port}
	var res fabric.TraceResult
	var where string
	if len(pos) == 1 {
		sc, err := scenarios.Load(pos[0])
		if err != nil {
			return &exitError{2, err}
		}
		plan, err := lab.NewPlan(sc, "trace")
		if err != nil {
			return &exitError{2, err}
		}
		r, err := plan.Trace(plan.State, req)
		if err != nil {
			return &exitError{2, err}
		}
		res, where = *r, "scenario "+filepath.Base(pos[0])+" (static)"
	} else {
		name, err := pickLab(*labName)
		if err != nil {
			return err
		}
		resp, err := lab.Call(name, lab.Request{Op: "trace", Args: map[string]string{
			"from": *from, "to": *to, "proto": *proto, "port": strconv.Itoa(*port)}}, 10*time.Second)
		if err != nil {
			return err
		}
		if err := lab.DecodeResult(resp, &res); err != nil {
			return err
		}
		where = "lab " + name + " (current rules)"
	}
	blocked := !res.Forward.Reachable || (res.Return != nil && !res.Return.Reachable)
	appliance := res.Forward.Appliance != ""
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(res); err != nil {
			return err
		}
		if blocked {
			return &exitError{1, nil}
		}
		return nil
	}
	what := *proto
	if *proto != "icmp" {
		what = fmt.Sprintf("%s/%d", *proto, *port)
	}
	fmt.Printf("trace %s -> %s %s in %s\n", *from, *to, what, where)
	res.Forward.WriteText(os.Stdout, "forward")
	if res.Return != nil {
		res.Return.WriteText(os.Stdout, "return")
	}
	if appliance {
		fmt.Printf("result: reaches the appliance %s; what its kernel forwards is not traced (trace from it to continue)\n", res.Forward.Appliance)
		return nil
	}
	if blocked {
		fmt.Println("result: NOT REACHABLE")
		return &exitError{1, nil}
	}
	fmt.Println("result: reachable both ways")
	return nil
}
