package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/pool"
)

var auditCmd = &command{
	name:    "audit",
	summary: "show the hypervisor's scrub records: whose memory and disks were reset, verified or not",
	usage: `Usage: ec2sim audit [--lab LAB] [--json]

Every time an instance's memory, instance store or deleted EBS volume goes back to the lab's
pool it is zeroed, read back byte by byte and recorded: the instance it came from, what was
reset (memory, ebs, instance-store), why (free, release, detach, recovery, retry), the extent
of the pool in frames or blocks, the bytes, how long it took and whether every byte read back
zero (HOLES: how many of the bytes the file system reported as holes, which read as zero by
definition; the rest was read back and compared). A reset that fails verification keeps its frames or blocks out of use. A lab with
hypervisor: {scrub: false} is UNSAFE: its records say so and none is verified.

When the engine does not answer, the audit log is read from the lab's run directory.

Examples:
  ec2sim audit
  ec2sim audit --lab hypervisor-scrub --json
`,
}

func init() {
	auditCmd.run = runAudit
	extraCommands = append(extraCommands, auditCmd)
}

func runAudit(args []string) error {
	fs := newFlags(auditCmd)
	labName := fs.String("lab", "", "lab name (default: the only running lab)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	pos, _, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 0 {
		return &exitError{2, errors.New("audit takes no arguments; see ec2sim audit --help")}
	}
	name, err := pickLab(*labName)
	if err != nil {
		return err
	}
	var rep lab.AuditReport
	resp, err := lab.Call(name, lab.Request{Op: "audit"}, 30*time.Second)
	switch {
	case errors.Is(err, lab.ErrNotRunning):
		recs, rerr := pool.ReadAudit(lab.AuditPath(name))
		if rerr != nil {
			return fmt.Errorf("%v; and the audit log: %w", err, rerr)
		}
		rep = lab.AuditReport{Lab: name, Records: recs}
		for _, r := range recs {
			if r.Unsafe {
				rep.Unsafe = lab.UnsafeWarning
			}
		}
	case err != nil:
		return err
	default:
		if err := lab.DecodeResult(resp, &rep); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(os.Stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	writeAudit(rep)
	return nil
}

func writeAudit(rep lab.AuditReport) {
	if rep.Unsafe != "" {
		fmt.Printf("*** %s ***\n", rep.Unsafe)
	}
	if rep.Pool != "" {
		fmt.Println(rep.Pool)
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tINSTANCE\tID\tWHAT\tWHY\tEXTENT\tBYTES\tHOLES\tDURATION\tVERIFIED")
	failed := 0
	for _, r := range rep.Records {
		v := "yes"
		switch {
		case r.Unsafe:
			v = "NO (UNSAFE: not scrubbed)"
		case !r.Verified:
			v = "NO: " + r.Error
			failed++
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%v x %d\t%d\t%d\t%v\t%s\n", r.Time.Format(time.TimeOnly), r.Owner, r.ID, r.What, r.Why,
			r.Run, r.Unit, r.Bytes, r.HoleBytes, r.Duration.Round(time.Microsecond), v)
	}
	tw.Flush()
	fmt.Printf("%d records", len(rep.Records))
	if failed > 0 {
		fmt.Printf(", %d NOT VERIFIED (their frames and blocks are quarantined)", failed)
	}
	fmt.Println()
}
