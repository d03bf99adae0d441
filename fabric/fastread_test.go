package fabric

import (
	"testing"
	"time"
)

// TestSpinnerAdapts walks the busy-poll budget through the events of a pump: spins that find a
// frame grow it to the setting, spins that run out halve it until it is dropped, and a sleep
// that a full spin would have covered starts it again.
func TestSpinnerAdapts(t *testing.T) {
	const us = time.Microsecond
	set := 100 * us
	type step struct {
		event string        // found, timeout, slept
		d     time.Duration // the sleep's length, for slept
		want  time.Duration // budget after the event
	}
	for _, tc := range []struct {
		name  string
		start time.Duration
		steps []step
	}{
		{"sparse traffic stops spinning", set, []step{
			{"timeout", 0, 50 * us}, {"timeout", 0, 25 * us}, {"timeout", 0, 12500 * time.Nanosecond},
			{"timeout", 0, 6250 * time.Nanosecond}, {"timeout", 0, 0},
			{"slept", 10 * time.Millisecond, 0}, // a long sleep: spinning would not have helped
		}},
		{"a short sleep restarts it, finds grow it back", 0, []step{
			{"slept", 30 * us, 25 * us}, {"found", 0, 50 * us}, {"found", 0, 100 * us}, {"found", 0, 100 * us},
		}},
		{"a find from nothing starts at a quarter", 0, []step{{"found", 0, 25 * us}}},
		{"a short sleep keeps a larger budget", 80 * us, []step{{"slept", 10 * us, 80 * us}}},
	} {
		s := spinner{budget: tc.start}
		for i, st := range tc.steps {
			switch st.event {
			case "found":
				s.found(set)
			case "timeout":
				s.timedOut()
			case "slept":
				s.slept(st.d, set)
			}
			if s.budget != st.want {
				t.Errorf("%s: step %d (%s): budget %v, want %v", tc.name, i, st.event, s.budget, st.want)
			}
		}
	}
}

// TestSpinnerFollowsSetting checks that a lowered or zero setting caps the budget at once.
func TestSpinnerFollowsSetting(t *testing.T) {
	s := spinner{budget: 100 * time.Microsecond}
	if got := s.limit(40 * time.Microsecond); got != 40*time.Microsecond {
		t.Errorf("limit(40us) = %v", got)
	}
	if got := s.limit(0); got != 0 {
		t.Errorf("limit(0) = %v, want 0: busy-poll off", got)
	}
	s.found(0)
	if s.budget != 0 {
		t.Errorf("found with busy-poll off: budget %v, want 0", s.budget)
	}
	e := NewEngine(&State{})
	if e.BusyPoll() != DefaultBusyPoll {
		t.Errorf("new engine busy-poll %v, want %v", e.BusyPoll(), DefaultBusyPoll)
	}
	e.SetBusyPoll(-time.Second)
	if e.BusyPoll() != 0 {
		t.Errorf("SetBusyPoll(-1s) = %v, want 0", e.BusyPoll())
	}
	e.Close()
}
