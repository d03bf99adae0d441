package lab

import (
	"errors"
	"testing"
)

// TestTransitions: which operation each state allows is EC2's table; an operation the state
// does not allow fails with ErrIncorrectState before it touches anything (the machines here
// have no pool, namespaces or engine: reaching them would panic).
func TestTransitions(t *testing.T) {
	allowed := map[string][]string{
		"start":     {StateStopped},
		"stop":      {StateRunning},
		"reboot":    {StateRunning},
		"terminate": {StateRunning, StateStopped},
	}
	states := []string{StatePending, StateRunning, StateStopping, StateStopped, StateShuttingDown, StateTerminated}
	for op, ok := range allowed {
		for _, st := range states {
			l := &Lab{Plan: &Plan{Lab: "t"}, hv: &hyper{machines: map[string]*machine{"x": {plan: &InstancePlan{Name: "x"}, state: st}}}}
			want := false
			for _, s := range ok {
				want = want || s == st
			}
			var err error
			func() {
				defer func() {
					if r := recover(); r != nil {
						err = errors.New("went ahead")
					}
				}()
				err = l.instanceOp(op, "x")
			}()
			if refused := errors.Is(err, ErrIncorrectState); refused == want {
				t.Errorf("%s of a %s instance: %v (allowed: %v)", op, st, err, want)
			}
			if got := l.hv.machines["x"].state; !want && got != st {
				t.Errorf("%s of a %s instance changed its state to %s", op, st, got)
			}
		}
	}
	l := &Lab{Plan: &Plan{Lab: "t"}, hv: &hyper{machines: map[string]*machine{}}}
	if err := l.instanceOp("hibernate", "x"); err == nil {
		t.Error("unknown action: no error")
	}
	if err := l.Start("nosuch"); err == nil || errors.Is(err, ErrIncorrectState) {
		t.Errorf("unknown instance: %v", err)
	}
}
