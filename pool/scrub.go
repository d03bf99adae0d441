package pool

import (
	"bytes"
	"errors"
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

// verifyZeroSparse is verifyZero that asks the file system where [off, off+n) holds data
// (lseek SEEK_DATA / SEEK_HOLE) and reads only that: a hole reads as zero by definition and
// costs nothing to check, while every byte of every data range is still read back and
// compared. After a punch the whole extent is normally one hole, so verifying it costs a few
// system calls instead of a copy of every byte out of the kernel; a punch that left data
// behind (or data written after it) is read and found like before. It returns the first
// non-zero byte's offset (or -1) and how many bytes of the range were holes.
func verifyZeroSparse(f *os.File, off, n int64, buf []byte) (bad, holes int64, err error) {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return -1, 0, err
	}
	end := off + n
	if end > st.Size {
		return -1, 0, fmt.Errorf("short read: range %d+%d ends past the file's %d bytes", off, n, st.Size)
	}
	fd := int(f.Fd())
	for pos := off; pos < end; {
		data, err := unix.Seek(fd, pos, unix.SEEK_DATA)
		if errors.Is(err, unix.ENXIO) || (err == nil && data >= end) {
			return -1, holes + end - pos, nil // the rest is a hole
		}
		if err != nil {
			// A file system without SEEK_DATA: read everything.
			bad, err := verifyZero(f, pos, end-pos, buf)
			return bad, holes, err
		}
		holes += data - pos
		hole, err := unix.Seek(fd, data, unix.SEEK_HOLE)
		if err != nil {
			return -1, holes, fmt.Errorf("seeking the end of the data at %d: %w", data, err)
		}
		hole = min(hole, end)
		// O_DIRECT reads want page-aligned ranges; the file system reports at least pages.
		data &^= 4095
		if b, err := verifyZero(f, max(data, pos), hole-max(data, pos), buf); err != nil || b >= 0 {
			return b, holes, err
		}
		pos = hole
	}
	return -1, holes, nil
}
