package pool

import (
	"bytes"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// scrubChunk is the size of the buffers that zeroing and verification go through: large enough
// that the syscalls cost little, small enough that a chunk read is still in the core's cache
// when it is compared (measured: 128 KiB to 1 MiB are alike, 32 KiB pays for its syscalls).
const scrubChunk = 512 << 10

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
// is not zero, or -1. buf is scratch space; with an O_DIRECT f it must be page-aligned (see
// alignedBuffer), and n and off multiples of the page size.
func verifyZero(f *os.File, off, n int64, buf []byte) (int64, error) {
	for done := int64(0); done < n; {
		k := min(n-done, int64(len(buf)))
		b := buf[:k]
		r, err := f.ReadAt(b, off+done)
		if int64(r) < k {
			if err == nil || err == io.EOF {
				err = fmt.Errorf("short read: %d of %d bytes at %d", r, k, off+done)
			}
			return -1, err
		}
		// b is all zero when its first byte is and every byte equals the one before it:
		// bytes.Equal of the two overlapping views is vectorised and reads only b, which the
		// read just left in cache.
		if b[0] != 0 || !bytes.Equal(b[1:], b[:k-1]) {
			return off + done + int64(firstNonZero(b)), nil
		}
		done += k
	}
	return -1, nil
}

// firstNonZero is the index of the first non-zero byte of b, or -1.
func firstNonZero(b []byte) int {
	for i, c := range b {
		if c != 0 {
			return i
		}
	}
	return -1
}

// alignedBuffer returns page-aligned scratch memory for O_DIRECT reads and a function that
// frees it.
func alignedBuffer(n int) ([]byte, func(), error) {
	b, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, nil, fmt.Errorf("scratch buffer: %w", err)
	}
	return b, func() { _ = unix.Munmap(b) }, nil
}
