package pool

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// scrubChunk is the size of the buffers that zeroing and verification go through: large enough
// that a syscall moves a lot, small enough to stay in cache for the comparison that follows.
const scrubChunk = 1 << 20

// zeroRange sets bytes [off, off+n) of f to zero by method m. zero must be scrubChunk zero
// bytes.
func zeroRange(f *os.File, off, n int64, m ScrubMethod, zero []byte) error {
	switch m {
	case ScrubPunch:
		// KEEP_SIZE: the pool file keeps its length; the punched range reads as zeros.
		err := unix.Fallocate(int(f.Fd()), unix.FALLOC_FL_PUNCH_HOLE|unix.FALLOC_FL_KEEP_SIZE, off, n)
		if err != nil {
			return fmt.Errorf("punching a hole at %d+%d: %w", off, n, err)
		}
		return nil
	case ScrubWrite:
		for done := int64(0); done < n; {
			k := min(n-done, int64(len(zero)))
			w, err := f.WriteAt(zero[:k], off+done)
			if err != nil {
				return fmt.Errorf("writing zeros at %d: %w", off+done, err)
			}
			done += int64(w)
		}
		return nil
	}
	return fmt.Errorf("zeroing with method %v", m)
}

// verifyZero reads every byte of [off, off+n) of f and returns the offset of the first one that
// is not zero, or -1. buf is scratch space of scrubChunk bytes; zero is scrubChunk zero bytes.
func verifyZero(f *os.File, off, n int64, buf, zero []byte) (int64, error) {
	for done := int64(0); done < n; {
		k := min(n-done, int64(len(buf)))
		r, err := f.ReadAt(buf[:k], off+done)
		if int64(r) < k {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("short read: %d of %d bytes at %d", r, k, off+done)
			}
			return -1, err
		}
		if !bytes.Equal(buf[:k], zero[:k]) {
			for i, c := range buf[:k] {
				if c != 0 {
					return off + done + int64(i), nil
				}
			}
		}
		done += k
	}
	return -1, nil
}
