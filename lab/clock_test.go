package lab

import (
	"testing"
	"time"
)

func TestClock(t *testing.T) {
	for _, speed := range []float64{0, -3, 1} {
		if c := NewClock(speed); c.Speed() != 1 || c.Scaled() {
			t.Errorf("NewClock(%v): speed %v, scaled %v; want real time", speed, c.Speed(), c.Scaled())
		}
	}
	c := NewClock(60)
	if !c.Scaled() || c.Real(30*time.Second) != 500*time.Millisecond {
		t.Errorf("speed 60: Real(30s) = %v, want 500ms", c.Real(30*time.Second))
	}
	t0, m0 := c.Now(), c.Mono()
	time.Sleep(50 * time.Millisecond)
	// 50 ms of real time is at least 3 lab seconds; a busy machine only makes it more.
	if d := c.Now().Sub(t0); d < 3*time.Second {
		t.Errorf("Now advanced %v in 50 ms at speed 60, want >= 3s", d)
	}
	if d := time.Duration(c.Mono() - m0); d < 3*time.Second {
		t.Errorf("Mono advanced %v in 50 ms at speed 60, want >= 3s", d)
	}
	var l Lab
	if l.clock().Scaled() {
		t.Error("a Lab made without Up runs on real time")
	}
}
