package pool

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

// ErrBusy is returned when a loop device cannot be detached because something else (the guest, a
// mount) still holds it open. The extent it exposes stays with its owner.
var ErrBusy = errors.New("device still in use")

// fileID identifies a pool file the way the loop driver reports its backing file.
type fileID struct{ dev, ino uint64 }

func statID(f *os.File) (fileID, error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fileID{}, err
	}
	return fileID{uint64(st.Dev), st.Ino}, nil
}

// loopDev is a loop device found bound to a pool file.
type loopDev struct {
	path         string // /dev/loopN
	offset, size int64
}

// detachWait bounds how long a detach waits for the kernel to let go of a device; a device still
// bound after that is held by someone else.
const detachWait = 500 * time.Millisecond

// attachLoop binds a free loop device to bytes [off, off+size) of backing and returns its path.
// It uses LOOP_CTL_GET_FREE and LOOP_CONFIGURE (one ioctl that binds the file and sets offset and
// size limit, so no one sees the device without its limits), retrying when another process takes
// the same free device first.
func attachLoop(backing *os.File, off, size int64, label string) (string, error) {
	ctl, err := os.OpenFile("/dev/loop-control", os.O_RDWR, 0)
	if err != nil {
		return "", fmt.Errorf("loop devices: %w", err)
	}
	defer ctl.Close()
	var lastErr error
	for range 20 {
		n, err := unix.IoctlRetInt(int(ctl.Fd()), unix.LOOP_CTL_GET_FREE)
		if err != nil {
			return "", fmt.Errorf("loop devices: no free device: %w", err)
		}
		path := "/dev/loop" + strconv.Itoa(n)
		dev, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			// devtmpfs creates the node as the device appears; give it a moment.
			lastErr = err
			time.Sleep(5 * time.Millisecond)
			continue
		}
		cfg := unix.LoopConfig{Fd: uint32(backing.Fd())}
		cfg.Info.Offset = uint64(off)
		cfg.Info.Sizelimit = uint64(size)
		copy(cfg.Info.File_name[:len(cfg.Info.File_name)-1], label)
		err = unix.IoctlLoopConfigure(int(dev.Fd()), &cfg)
		if errors.Is(err, unix.EBUSY) {
			dev.Close()
			lastErr = err
			continue
		}
		if err != nil {
			dev.Close()
			return "", fmt.Errorf("loop devices: binding %s to %s at offset %d: %w", path, backing.Name(), off, err)
		}
		got, err := unix.IoctlGetInt(int(dev.Fd()), unix.BLKGETSIZE64)
		dev.Close()
		if err != nil || int64(got) != size {
			_ = detachLoop(loopDev{path, off, size}, mustID(backing), false)
			return "", fmt.Errorf("loop devices: %s has %d bytes, want %d (%v)", path, got, size, err)
		}
		return path, nil
	}
	return "", fmt.Errorf("loop devices: no device could be bound after 20 tries: %w", lastErr)
}

// mustID is statID for a file already known to be stat-able; a zero ID never matches a device.
func mustID(f *os.File) fileID {
	id, _ := statID(f)
	return id
}

// loopStatus reads the binding of an open loop device; ok is false when it is not bound.
func loopStatus(dev *os.File) (info *unix.LoopInfo64, ok bool, err error) {
	info, err = unix.IoctlLoopGetStatus64(int(dev.Fd()))
	if errors.Is(err, unix.ENXIO) {
		return nil, false, nil
	}
	return info, err == nil, err
}

// isOurs reports whether info describes d bound to the file id.
func isOurs(info *unix.LoopInfo64, d loopDev, id fileID) bool {
	return info.Device == id.dev && info.Inode == id.ino &&
		int64(info.Offset) == d.offset && int64(info.Sizelimit) == d.size
}

// detachLoop unbinds d if it is still bound to the file id with d's offset and size; a device
// that is gone or now bound to something else is not ours and is left alone. The device's page
// cache is written back first, so nothing the guest wrote reaches the pool file after the scrub.
//
// The kernel detaches at the last close. When someone else still holds the device it returns
// ErrBusy; with keepBusy the device stays bound as it was (the owner keeps the extent),
// otherwise it is left to detach itself at that last close (Destroy).
func detachLoop(d loopDev, id fileID, keepBusy bool) error {
	dev, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ENXIO) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("detaching %s: %w", d.path, err)
	}
	info, bound, err := loopStatus(dev)
	if err != nil || !bound || !isOurs(info, d, id) {
		dev.Close()
		return err
	}
	// fsync on a block device writes back its page cache; BLKFLSBUF drops it. The kernel does
	// the same at the device's last close, which is when the detach happens, but doing it here
	// means a failure to write back is reported while the extent is still the owner's.
	syncErr := dev.Sync()
	if err := unix.IoctlSetInt(int(dev.Fd()), unix.BLKFLSBUF, 0); err != nil && syncErr == nil {
		syncErr = err
	}
	if syncErr != nil {
		dev.Close()
		return fmt.Errorf("detaching %s: flushing: %w", d.path, syncErr)
	}
	// LOOP_CLR_FD only marks the device to detach at its last close (ours, unless the guest
	// holds it too).
	if _, err := unix.IoctlRetInt(int(dev.Fd()), unix.LOOP_CLR_FD); err != nil && !errors.Is(err, unix.ENXIO) {
		dev.Close()
		return fmt.Errorf("detaching %s: %w", d.path, err)
	}
	dev.Close()
	deadline := time.Now().Add(detachWait)
	for wait := 100 * time.Microsecond; ; wait = min(2*wait, 20*time.Millisecond) {
		if !stillBound(d) {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(wait)
	}
	if !keepBusy {
		return fmt.Errorf("%s: %w; it detaches when the last user closes it", d.path, ErrBusy)
	}
	if err := cancelAutoclear(d, id); err != nil {
		return fmt.Errorf("%s: %w; and undoing the pending detach failed: %v", d.path, ErrBusy, err)
	}
	return fmt.Errorf("%s: %w (open, mapped or mounted); close it first", d.path, ErrBusy)
}

// stillBound reads sysfs, without opening the device (an open would itself delay the detach):
// the device is still ours, waiting for its last user, when it has d's offset and size and the
// auto-clear flag LOOP_CLR_FD set.
func stillBound(d loopDev) bool {
	base := "/sys/block/" + filepath.Base(d.path) + "/loop/"
	for file, want := range map[string]string{
		"offset":    strconv.FormatInt(d.offset, 10),
		"sizelimit": strconv.FormatInt(d.size, 10),
		"autoclear": "1",
	} {
		b, err := os.ReadFile(base + file)
		if err != nil || strings.TrimSpace(string(b)) != want {
			return false
		}
	}
	return true
}

// cancelAutoclear undoes LOOP_CLR_FD on a device that someone else holds, so that it does not
// detach under its owner later.
func cancelAutoclear(d loopDev, id fileID) error {
	dev, err := os.OpenFile(d.path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer dev.Close()
	info, bound, err := loopStatus(dev)
	if err != nil || !bound || !isOurs(info, d, id) {
		return err
	}
	info.Flags &^= unix.LO_FLAGS_AUTOCLEAR
	return unix.IoctlLoopSetStatus64(int(dev.Fd()), info)
}

// findLoops lists the loop devices bound to the file at path with identity id. It reads sysfs
// to pick the candidates and confirms each with LOOP_GET_STATUS64, so a different file that
// once had the same path does not count.
func findLoops(path string, id fileID) ([]loopDev, error) {
	ents, err := os.ReadDir("/sys/block")
	if err != nil {
		return nil, err
	}
	var found []loopDev
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "loop") {
			continue
		}
		b, err := os.ReadFile("/sys/block/" + name + "/loop/backing_file")
		if err != nil {
			continue // not bound
		}
		bf := strings.TrimSpace(string(b))
		if bf != path && bf != path+" (deleted)" {
			continue
		}
		d, ok := statusOf("/dev/"+name, id)
		if ok {
			found = append(found, d)
		}
	}
	return found, nil
}

// statusOf opens a device and returns its binding if it is to the file id.
func statusOf(path string, id fileID) (loopDev, bool) {
	dev, err := os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return loopDev{}, false
	}
	defer dev.Close()
	info, bound, err := loopStatus(dev)
	if err != nil || !bound || info.Device != id.dev || info.Inode != id.ino {
		return loopDev{}, false
	}
	return loopDev{path, int64(info.Offset), int64(info.Sizelimit)}, true
}
