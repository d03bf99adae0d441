package runner

import (
	"fmt"
	"strings"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

// The instance and audit steps: lifecycle actions on a running lab, and checks of the
// hypervisor's scrub records.

// instanceStep runs "ACTION NAME" (start, stop, reboot, terminate); the detail is the new state.
func instanceStep(l *lab.Lab, cmd string) (string, error) {
	f := strings.Fields(cmd)
	if len(f) != 2 {
		return "", fmt.Errorf("instance %q: want ACTION INSTANCE, e.g. \"stop web-1\"", cmd)
	}
	return l.InstanceOp(f[0], f[1])
}

// auditStep checks the audit records as the step asks.
func auditStep(l *lab.Lab, a *scenarios.AuditStep) (string, error) {
	return l.CheckAudit(a.Instance, a.Reuses, a.Verified)
}

// lifecycleStepName names an instance or audit step in reports.
func lifecycleStepName(st *scenarios.Step) string {
	if st.Kind == "instance" {
		return "instance " + st.Command
	}
	a := st.Audit
	s := "audit " + a.Instance
	if a.Reuses != "" {
		s += " reuses " + a.Reuses
	}
	if a.Verified != nil {
		s += fmt.Sprintf(" verified=%v", *a.Verified)
	}
	return s
}
