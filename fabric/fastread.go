package fabric

import (
	"os"
	"runtime"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// fastReader reads a TAP on the pump's own locked OS thread: a non-blocking read, and when there
// is nothing, a short busy-poll (see spinner), then poll(2) on the descriptor, so a frame wakes
// the pump thread directly instead of going through the runtime's poller and scheduler. It polls
// with a timeout so that it notices the port being closed.
type fastReader struct {
	f  *os.File
	rc syscall.RawConn
}

func newFastReader(p Port) (*fastReader, bool) {
	f, ok := p.(*os.File)
	if !ok {
		return nil, false
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return nil, false
	}
	return &fastReader{f: f, rc: rc}, true
}

// DefaultBusyPoll is how long, at most, a pump keeps reading its TAP after it ran dry before it
// sleeps in poll(2) (`ec2sim up --busy-poll`). On the VMs this project runs on an idle vCPU
// halts at once (guest halt polling is off), so a pump put to sleep waits some 40 µs for the
// next frame's wake-up: in a bulk transfer the receiving pump slept after every other frame and
// spent as long waiting to run again as running (schedstat). Spinning through the gap, yielding
// the CPU at every turn, keeps the vCPU awake and the frame's wait short
// (docs/benchmarks.md, "Busy-polling").
const DefaultBusyPoll = 100 * time.Microsecond

// spinner is one pump's adaptive busy-poll budget, grown and shrunk the way guest halt polling
// does it: a spin that finds a frame doubles the budget (up to the engine's setting), one that
// runs out halves it until it is dropped, and a sleep in poll(2) that a spin of the full setting
// would have covered starts it again. A pump with sparse traffic therefore soon stops spinning.
// It also paces the pump's passes through the Go scheduler (yieldInterval).
type spinner struct {
	budget  time.Duration
	idleAt  time.Time // when the pump last ended a sleep of idleSleep or more
	yieldAt time.Time // when the pump last yielded
}

// yieldInterval is how often a busy pump passes through the Go scheduler. A pump that never does
// (it only makes system calls) looks to the runtime's sysmon like a goroutine hogging its
// processor: after 10 ms sysmon preempts it or takes its P away on every tick, and stays at its
// fastest tick (20 µs) doing so. On two CPUs that was 14% of one CPU during a bulk transfer
// through the engine, and a hand-off on most system calls; yielding every 5 ms keeps sysmon
// asleep (`docs/benchmarks.md`, "The engine and the Go runtime"). A yield of a locked goroutine
// is itself a thread hand-off of several wake-ups, so only a pump that has not slept for a
// millisecond or more within the interval yields: with sparse traffic a yield per frame cost
// more than sysmon did.
const yieldInterval = 5 * time.Millisecond

// yieldIfBusy passes through the scheduler when the pump has been busy, without a sleep of
// idleSleep or more, for yieldInterval since it last did. It runs before a read: the frame
// before has gone out, so the thread hand-off of a locked goroutine delays no frame already read.
func (s *spinner) yieldIfBusy() {
	if now := time.Now(); now.Sub(s.yieldAt) > yieldInterval && now.Sub(s.idleAt) > yieldInterval {
		s.yieldAt = now
		runtime.Gosched()
	}
}

// idleSleep is the sleep in poll(2) after which a pump counts as idle rather than busy.
const idleSleep = time.Millisecond

// spinMin is the smallest budget worth a spin; below it the pump goes straight to poll(2).
const spinMin = 5 * time.Microsecond

// limit is the budget for the next spin under the engine's setting.
func (s *spinner) limit(setting time.Duration) time.Duration {
	s.budget = min(s.budget, setting)
	return s.budget
}

// found records a spin that ended with a frame.
func (s *spinner) found(setting time.Duration) {
	s.budget = min(setting, max(2*s.budget, setting/4))
}

// timedOut records a spin that ran its whole budget without a frame.
func (s *spinner) timedOut() {
	s.budget /= 2
	if s.budget < spinMin {
		s.budget = 0
	}
}

// slept records a sleep in poll(2) of d that ended with a frame.
func (s *spinner) slept(d, setting time.Duration) {
	if d >= idleSleep {
		s.idleAt = time.Now()
	}
	if d < setting {
		s.budget = max(s.budget, setting/4)
	}
}

// read returns the next frame. busyPoll is the engine's setting (0: never spin).
func (r *fastReader) read(b []byte, sp *spinner, busyPoll time.Duration) (int, error) {
	sp.yieldIfBusy()
	for {
		var n int
		var rerr error
		// Control holds a reference on the descriptor while the function runs, so a Close
		// meanwhile cannot hand its number to another file under us.
		err := r.rc.Control(func(fd uintptr) {
			for {
				n, rerr = unix.Read(int(fd), b)
				if rerr != unix.EAGAIN {
					return
				}
				if budget := sp.limit(busyPoll); budget > 0 {
					start := time.Now()
					for {
						// Yield at every turn: a spinning pump gives its CPU to any thread
						// that can run there (an instance's program, another pump).
						unix.Syscall(unix.SYS_SCHED_YIELD, 0, 0, 0)
						n, rerr = unix.Read(int(fd), b)
						if rerr != unix.EAGAIN {
							if rerr == nil {
								sp.found(busyPoll)
							}
							return
						}
						if time.Since(start) >= budget {
							sp.timedOut()
							break
						}
					}
				}
				fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				start := time.Now()
				if _, perr := unix.Poll(fds, 50); perr != nil && perr != unix.EINTR {
					rerr = perr
					return
				}
				if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
					rerr = os.ErrClosed
					return
				}
				if fds[0].Revents&unix.POLLIN == 0 {
					sp.idleAt = time.Now() // poll's timeout: nothing for 50 ms
					n, rerr = 0, unix.EAGAIN
					return
				}
				sp.slept(time.Since(start), busyPoll)
			}
		})
		if err != nil {
			return 0, err // closed
		}
		if rerr == unix.EAGAIN {
			continue // timeout: go round Control again, which fails once the file is closed
		}
		if rerr != nil {
			return 0, rerr
		}
		return n, nil
	}
}
