package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strconv"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/lab"
)

// runTraceLive asks the running lab to send a real exchange and prints the engine's decisions
// next to the prediction.
func runTraceLive(labName, from, to, proto string, port int, asJSON bool) error {
	name, err := pickLab(labName)
	if err != nil {
		return err
	}
	resp, err := lab.Call(name, lab.Request{Op: "trace-live", Args: map[string]string{
		"from": from, "to": to, "proto": proto, "port": strconv.Itoa(port)}}, 15*time.Second)
	if err != nil {
		return err
	}
	var lt lab.LiveTrace
	if err := lab.DecodeResult(resp, &lt); err != nil {
		return err
	}
	status := liveStatus(&lt)
	if asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(lt); err != nil {
			return err
		}
		if status != 0 {
			return &exitError{status, nil}
		}
		return nil
	}
	what := proto
	if proto != "icmp" {
		what = fmt.Sprintf("%s/%d from port %d", proto, port, lt.SrcPort)
	}
	fmt.Printf("trace --live %s -> %s %s in lab %s\n", from, to, what, name)
	printLive(os.Stdout, "forward", &lt.Predicted.Forward, lt.Live.Forward)
	if lt.Predicted.Return != nil || lt.Live.Return != nil {
		printLive(os.Stdout, "return", lt.Predicted.Return, lt.Live.Return)
	}
	fmt.Printf("real exchange: %s\n", lt.Exchange)
	if lt.Agree {
		fmt.Println("the engine agrees with the prediction on every hop")
	} else {
		fmt.Printf("the engine DIFFERS from the prediction (%d difference(s)):\n", len(lt.Differences))
		for _, d := range lt.Differences {
			fmt.Println("  " + d)
		}
	}
	if status != 0 {
		return &exitError{status, nil}
	}
	return nil
}

// liveStatus is the exit status: 3 for a disagreement, else trace's 0 or 1.
func liveStatus(lt *lab.LiveTrace) int {
	switch {
	case !lt.Agree:
		return 3
	case !lt.Predicted.Forward.Reachable || (lt.Predicted.Return != nil && !lt.Predicted.Return.Reachable):
		return 1
	}
	return 0
}

// printLive prints one direction: each hop's predicted and live outcome side by side, "!=" where
// they differ.
func printLive(w io.Writer, dir string, pred, live *fabric.PathResult) {
	verdict := func(p *fabric.PathResult) string {
		if p == nil {
			return "(no packet)"
		}
		return p.Verdict
	}
	fmt.Fprintf(w, "%s path: predicted %s, engine %s\n", dir, verdict(pred), verdict(live))
	n := 0
	if pred != nil {
		n = len(pred.Hops)
	}
	if live != nil {
		n = max(n, len(live.Hops))
	}
	for i := 0; i < n; i++ {
		var p, e *fabric.Hop
		if pred != nil && i < len(pred.Hops) {
			p = &pred.Hops[i]
		}
		if live != nil && i < len(live.Hops) {
			e = &live.Hops[i]
		}
		mark := "  "
		if p == nil || e == nil || *p != *e {
			mark = "!="
		}
		h := p
		if h == nil {
			h = e
		}
		fmt.Fprintf(w, "  %s %-17s %s\n", mark, h.Stage, h.Component)
		fmt.Fprintf(w, "       predicted: %s\n", liveHop(p))
		fmt.Fprintf(w, "       engine:    %s\n", liveHop(e))
	}
}

func liveHop(h *fabric.Hop) string {
	if h == nil {
		return "(no hop)"
	}
	s := "ok   " + h.Detail
	if !h.OK {
		s = "DROP " + h.Detail
	}
	if h.Code != "" {
		s += " [" + h.Code + "]"
	}
	return s
}
