package fabric

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fastReader reads a TAP on the pump's own locked OS thread: a non-blocking read, and when there
// is nothing, poll(2) on the descriptor, so a frame wakes the pump thread directly instead of
// going through the runtime's poller and scheduler. It polls with a timeout so that it notices
// the port being closed.
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

func (r *fastReader) read(b []byte) (int, error) {
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
				fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
				if _, perr := unix.Poll(fds, 50); perr != nil && perr != unix.EINTR {
					rerr = perr
					return
				}
				if fds[0].Revents&(unix.POLLERR|unix.POLLHUP|unix.POLLNVAL) != 0 {
					rerr = os.ErrClosed
					return
				}
				if fds[0].Revents&unix.POLLIN == 0 {
					n, rerr = 0, unix.EAGAIN
					return
				}
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
