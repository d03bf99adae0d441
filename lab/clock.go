package lab

import "time"

// Clock is a lab's clock: it drives the engine's timers (conntrack idle timeouts) and the flow
// logs' capture windows, Speed lab seconds per real second from the moment the lab came up. A
// clock faster than real time lets a test watch a 30-second UDP timeout in half a second; the
// instances' kernels and programs keep real time.
type Clock struct {
	start time.Time
	speed float64
}

// NewClock starts a clock running speed times faster than real time; a speed below 1 is 1.
func NewClock(speed float64) *Clock {
	if !(speed >= 1) {
		speed = 1
	}
	return &Clock{start: time.Now(), speed: speed}
}

// Speed is how many lab seconds pass per real second.
func (c *Clock) Speed() float64 { return c.speed }

// Scaled reports whether the clock runs faster than real time, which every report must say.
func (c *Clock) Scaled() bool { return c.speed != 1 }

// Since is the lab time passed since the clock started.
func (c *Clock) Since() time.Duration {
	return time.Duration(float64(time.Since(c.start)) * c.speed)
}

// Now is the lab's wall-clock time: the real time the lab came up plus the lab time since.
func (c *Clock) Now() time.Time { return c.start.Add(c.Since()) }

// Mono is the engine's clock: lab nanoseconds since the lab came up.
func (c *Clock) Mono() int64 { return int64(c.Since()) }

// Real converts a lab duration to the real time it takes: a 30-second wait at speed 60 is half
// a second.
func (c *Clock) Real(d time.Duration) time.Duration { return time.Duration(float64(d) / c.speed) }

// clock is the lab's clock, or a real-time one for a Lab made without Up.
func (l *Lab) clock() *Clock {
	if l.Clock == nil {
		return realClock
	}
	return l.Clock
}

// realClock stands in for the clock of a Lab made without Up; it is never changed.
var realClock = NewClock(1)
