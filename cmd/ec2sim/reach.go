package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/ec2sim/ec2sim/analysis/reach"
	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

var reachCmd = &command{
	name:    "reach",
	summary: "static reachability of a scenario: what can reach what, on which ports; intents; --verify",
	usage: `Usage: ec2sim reach FILE [--from A,B] [--to C] [--json] [--ephemeral LOW-HIGH]
       ec2sim reach --verify FILE [--from A] [--to B] [--json] [--max-probes N] [--timeout D]

Computes, without starting the lab, for every ordered pair of endpoints (instance ENIs, internet
hosts, on-prem hosts) the exact set of TCP and UDP destination ports, and whether ICMP echo, that
get through and whose reply gets back, with the same compiled rules and decision function the
engine uses. A port reaches only when the reply gets back for every source port of the sender's
ephemeral range (Linux's 32768-60999 unless --ephemeral says otherwise). Traffic that arrives but
whose reply is dropped, whose reply depends on the source port, or that is handed to an appliance
(a NAT instance, a firewall) is listed below the matrix. Instances send as with the default
routes: routes that user data adds are not seen (--verify sees them).

The scenario's intents: (see docs/reach.md) are checked; each violated intent is reported with
the components that block it (allow intents) or allow it (deny intents), with Reachability
Analyzer's explanation codes.

--verify brings the lab up under a unique name (root needed), analyses it as the engine sees it
(the instances' own routes and ephemeral ranges), sends a real probe at each end of every port
range of every cell and one ICMP echo, reports every probe where the engine and the analysis
disagree, and tears the lab down, also on Ctrl-C.

Exit status: 0 every intent holds (and, with --verify, engine and analysis agree), 1 an intent
is violated or they disagree, 2 a bad file or bad arguments.

Examples:
  ec2sim reach scenarios/suites/aws-web-db-groups.yaml
  ec2sim reach scenarios/suites/internet-gateway.yaml --from client,api --json
  ec2sim reach --verify scenarios/suites/aws-custom-nacl.yaml
`,
}

func init() {
	reachCmd.run = runReach
	extraCommands = append(extraCommands, reachCmd)
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func parsePortRange(s string) (reach.Range, error) {
	lo, hi, ok := strings.Cut(s, "-")
	a, err1 := strconv.Atoi(lo)
	b, err2 := strconv.Atoi(hi)
	if !ok || err1 != nil || err2 != nil || a < 1 || b > 65535 || a > b {
		return reach.Range{}, fmt.Errorf("--ephemeral %q: want LOW-HIGH within 1-65535, such as 32768-60999", s)
	}
	return reach.Range{Lo: a, Hi: b}, nil
}

// reachReport is the JSON of ec2sim reach.
type reachReport struct {
	*reach.Result
	Intents []reach.IntentResult `json:"intents"`
	Verify  *reach.VerifyResult  `json:"verify,omitempty"`
	Lab     string               `json:"lab,omitempty"`
}

func runReach(args []string) error {
	fs := newFlags(reachCmd)
	from := fs.String("from", "", "only these sources: endpoint or instance names, or internet, comma-separated")
	to := fs.String("to", "", "only these targets, as --from")
	asJSON := fs.Bool("json", false, "print JSON: every cell's full sets, the intents and the verification")
	eph := fs.String("ephemeral", "", "the senders' ephemeral source ports, LOW-HIGH (default 32768-60999, Linux's)")
	verify := fs.Bool("verify", false, "bring the lab up and compare the analysis with real probes")
	maxProbes := fs.Int("max-probes", 0, "with --verify, send at most this many probes (evenly spread); 0 all")
	timeout := fs.Duration("timeout", 1500*time.Millisecond, "with --verify, each probe's timeout")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return &exitError{2, errors.New("want one scenario FILE (see ec2sim reach --help)")}
	}
	opts := reach.Options{From: splitList(*from), To: splitList(*to)}
	if *eph != "" {
		if opts.Ephemeral, err = parsePortRange(*eph); err != nil {
			return &exitError{2, err}
		}
	}
	sc, err := scenarios.Load(pos[0])
	if err != nil {
		return &exitError{2, err}
	}
	rep := reachReport{}
	if *verify {
		if err := verifyLab(sc, opts, reach.VerifyOptions{MaxProbes: *maxProbes, Timeout: *timeout}, &rep); err != nil {
			return err
		}
	} else {
		plan, err := lab.NewPlan(sc, "reach")
		if err != nil {
			return &exitError{2, err}
		}
		if rep.Result, err = reach.Analyze(plan, opts); err != nil {
			return &exitError{2, err}
		}
	}
	rep.Intents = reach.CheckIntents(rep.Result, sc.Intents)
	if rep.Intents == nil {
		rep.Intents = []reach.IntentResult{}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	} else {
		if err := reach.WriteMatrix(os.Stdout, rep.Result); err != nil {
			return err
		}
		if !*verify {
			for _, in := range sc.Instances {
				if in.UserData != "" {
					fmt.Printf("note: instance %s has user data; routes and port ranges it sets are not seen statically (use --verify)\n", in.Name)
				}
			}
		}
		if len(rep.Intents) > 0 {
			fmt.Println()
			reach.WriteIntents(os.Stdout, rep.Intents)
		}
		if rep.Verify != nil {
			fmt.Println()
			reach.WriteVerify(os.Stdout, rep.Verify)
		}
	}
	for _, ir := range rep.Intents {
		if !ir.OK {
			return &exitError{1, nil}
		}
	}
	if rep.Verify != nil && len(rep.Verify.Disagreements) > 0 {
		return &exitError{1, nil}
	}
	return nil
}

// verifyLab brings the scenario's lab up under a fresh name, verifies it and always takes it
// down, also when interrupted.
func verifyLab(sc *scenarios.Scenario, opts reach.Options, vo reach.VerifyOptions, rep *reachReport) error {
	if os.Geteuid() != 0 {
		return &exitError{2, errors.New("--verify brings a lab up: run it as root")}
	}
	plan, err := lab.NewPlan(sc, lab.FreshName("reach-"+sc.Name))
	if err != nil {
		return &exitError{2, err}
	}
	dir, err := os.MkdirTemp("", "ec2sim-reach-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	plan.FlowLogDir = dir
	ctx, cancel := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer cancel()
	l, err := lab.Up(ctx, plan)
	if err != nil {
		return &exitError{1, fmt.Errorf("bring-up of lab %s: %w", plan.Lab, err)}
	}
	defer l.Down()
	rep.Lab = plan.Lab
	res, vr, err := reach.Verify(ctx, l, opts, vo)
	if err != nil {
		if ctx.Err() != nil {
			return &exitError{1, errors.New("interrupted; lab torn down")}
		}
		return &exitError{2, err}
	}
	rep.Result, rep.Verify = res, vr
	return nil
}
