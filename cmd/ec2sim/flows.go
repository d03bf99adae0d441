package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/ec2sim/ec2sim/flowlog"
	"github.com/ec2sim/ec2sim/lab"
)

var flowlogCmd = &command{
	name:    "flowlog",
	summary: "create, list and delete VPC Flow Logs on a running lab",
	usage: `Usage: ec2sim flowlog [--lab LAB] create --resource RES [--traffic ALL|ACCEPT|REJECT] [--interval D] [--format F] [--json] [--path FILE]
       ec2sim flowlog [--lab LAB] list
       ec2sim flowlog [--lab LAB] delete ID

A flow log records, per ENI and per capture window, one line per flow (5-tuple, direction and
action) with packets, bytes, start, end, ACCEPT or REJECT, as AWS writes them. RES is vpc/NAME,
subnet/VPC/NAME, eni/INSTANCE[.ethN] or eni/NAT-GATEWAY. The window is 60 s (AWS's Nitro window; --interval 600s
also gives 60 s, as on Nitro); --interval 1s..59s is an ec2sim setting for tests and labs. The
format is AWS's default (version 2) unless --format gives a custom one in AWS's syntax, e.g.
'${version} ${interface-id} ${srcaddr} ${dstaddr} ${action} ${tcp-flags} ${flow-direction}'.
Records go to a text file with a header line (as S3 exports have it), or JSON lines with --json;
read them with ec2sim flows.

Examples:
  ec2sim flowlog create --resource vpc/main --interval 5s
  ec2sim flowlog create --resource eni/web-1 --traffic REJECT --format '${srcaddr} ${dstaddr} ${dstport} ${action}'
  ec2sim flowlog list
  ec2sim flowlog delete fl-0123456789abcdef0
`,
}

var flowsCmd = &command{
	name:    "flows",
	summary: "print flow-log records of a running lab (--follow to watch)",
	usage: `Usage: ec2sim flows [--lab LAB] [ID] [--follow] [--json]

Prints the records of the lab's flow logs (all of them, or the one with ID) in their own
format, with a header line per log. --follow keeps printing records as capture windows close.

Examples:
  ec2sim flows
  ec2sim flows --follow
  ec2sim flows fl-0123456789abcdef0 --json
`,
}

func init() {
	flowlogCmd.run = runFlowlog
	flowsCmd.run = runFlows
	extraCommands = append(extraCommands, flowlogCmd, flowsCmd)
}

func runFlowlog(args []string) error {
	fs := newFlags(flowlogCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	resource := fs.String("resource", "", "vpc/NAME, subnet/VPC/NAME, eni/INSTANCE[.ethN] or eni/NAT-GATEWAY")
	traffic := fs.String("traffic", "ALL", "ACCEPT, REJECT or ALL")
	interval := fs.Duration("interval", 60*time.Second, "capture window: 60s or 600s (AWS), 1s-59s (tests)")
	format := fs.String("format", "", "custom format in AWS's ${field} syntax (default: version 2)")
	asJSON := fs.Bool("json", false, "write JSON lines instead of text")
	path := fs.String("path", "", "file for the records (default: in the lab's directory)")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return &exitError{2, errors.New("want create, list or delete (see ec2sim flowlog --help)")}
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	var req lab.Request
	switch pos[0] {
	case "create":
		if *resource == "" {
			return &exitError{2, errors.New("create needs --resource vpc/NAME, subnet/VPC/NAME or eni/INSTANCE")}
		}
		req = lab.Request{Op: "flowlog-create", Args: map[string]string{"resource": *resource, "traffic": *traffic,
			"interval": interval.String(), "format": *format, "path": *path, "json": fmt.Sprint(*asJSON)}}
	case "list":
		req = lab.Request{Op: "flowlog-list"}
	case "delete":
		if len(pos) != 2 {
			return &exitError{2, errors.New("delete needs the flow log's ID")}
		}
		req = lab.Request{Op: "flowlog-delete", Args: map[string]string{"id": pos[1]}}
	default:
		return &exitError{2, fmt.Errorf("unknown subcommand %q: want create, list or delete", pos[0])}
	}
	resp, err := lab.Call(name, req, 10*time.Second)
	if err != nil {
		return err
	}
	switch pos[0] {
	case "create":
		var info lab.FlowLogInfo
		if err := lab.DecodeResult(resp, &info); err != nil {
			return err
		}
		fmt.Printf("%s on %s (%s, window %s) -> %s\n", info.ID, info.Resource, info.Traffic, info.Window, info.Path)
	case "list":
		var list []lab.FlowLogInfo
		if err := lab.DecodeResult(resp, &list); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tRESOURCE\tTRAFFIC\tWINDOW\tFILE")
		for _, i := range list {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", i.ID, i.Resource, i.Traffic, i.Window, i.Path)
		}
		tw.Flush()
	case "delete":
		fmt.Printf("%s deleted\n", pos[1])
	}
	return nil
}

func runFlows(args []string) error {
	fs := newFlags(flowsCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	follow := fs.Bool("follow", false, "keep printing records as windows close")
	asJSON := fs.Bool("json", false, "print JSON lines")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	resp, err := lab.Call(name, lab.Request{Op: "flowlog-list"}, 10*time.Second)
	if err != nil {
		return err
	}
	var list []lab.FlowLogInfo
	if err := lab.DecodeResult(resp, &list); err != nil {
		return err
	}
	var chosen []lab.FlowLogInfo
	for _, i := range list {
		if len(pos) == 0 || i.ID == pos[0] {
			chosen = append(chosen, i)
		}
	}
	if len(chosen) == 0 {
		return errors.New("no such flow log (ec2sim flowlog list; ec2sim flowlog create --resource vpc/NAME)")
	}
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	tails := make([]*flowlog.Tail, len(chosen))
	for i, c := range chosen {
		tails[i] = flowlog.NewTail(c.Path)
	}
	printed := make([]bool, len(chosen))
	for {
		for i, t := range tails {
			recs, err := t.Poll()
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
			f, err := flowlog.ParseFormat(chosen[i].Format)
			if err != nil {
				return err
			}
			if !printed[i] && !*asJSON && (len(recs) > 0 || !*follow) {
				fmt.Printf("# %s %s\n%s\n", chosen[i].ID, chosen[i].Resource, f.Header())
				printed[i] = true
			}
			for k := range recs {
				var line []byte
				if *asJSON {
					line = f.AppendJSON(nil, &recs[k])
				} else {
					line = f.AppendText(nil, &recs[k])
				}
				os.Stdout.Write(append(line, '\n'))
			}
		}
		if !*follow {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(500 * time.Millisecond):
		}
	}
}
