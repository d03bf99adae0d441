package pool

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"
)

// TestVerifyZero plants one non-zero byte at places that matter to the chunked comparison (first
// and last byte of the range, both sides of a chunk boundary, just outside the range) and wants
// verification to name exactly that byte, through a buffered and an O_DIRECT descriptor.
func TestVerifyZero(t *testing.T) {
	const size = 4 * scrubChunk
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(size))
	direct, err := os.OpenFile(path, os.O_RDONLY|unix.O_DIRECT, 0)
	if err != nil {
		t.Logf("no O_DIRECT here (%v); buffered only", err)
		direct = f
	}
	defer direct.Close()
	buf, free, err := alignedBuffer(scrubChunk)
	require.NoError(t, err)
	defer free()

	off, n := int64(4096), int64(size-2*4096) // the range checked
	for _, tc := range []struct {
		name string
		at   int64 // where the byte goes; -1 for nowhere
		want int64
	}{
		{"all zero", -1, -1},
		{"first byte", off, off},
		{"last byte", off + n - 1, off + n - 1},
		{"before a chunk boundary", off + scrubChunk - 1, off + scrubChunk - 1},
		{"after a chunk boundary", off + scrubChunk, off + scrubChunk},
		{"middle", off + 3*scrubChunk/2 + 7, off + 3*scrubChunk/2 + 7},
		{"just before the range", off - 1, -1},
		{"just after the range", off + n, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, zeroRange(f, 0, size, ScrubWrite, make([]byte, scrubChunk)))
			if tc.at >= 0 {
				_, err := f.WriteAt([]byte{0x80}, tc.at)
				require.NoError(t, err)
			}
			for _, g := range []*os.File{f, direct} {
				got, err := verifyZero(g, off, n, buf)
				require.NoError(t, err)
				require.Equal(t, tc.want, got)
			}
		})
	}
	_, err = verifyZero(f, size-4096, 8192, buf)
	require.ErrorContains(t, err, "short read", "reading past the end is an error, not zero")
}

// TestZeroRange: both methods leave the range zero and the bytes around it alone.
func TestZeroRange(t *testing.T) {
	for _, m := range []ScrubMethod{ScrubPunch, ScrubWrite} {
		t.Run(m.String(), func(t *testing.T) {
			f, err := os.Create(filepath.Join(t.TempDir(), "f"))
			require.NoError(t, err)
			defer f.Close()
			data := make([]byte, 3<<20)
			for i := range data {
				data[i] = 0xa5
			}
			_, err = f.WriteAt(data, 0)
			require.NoError(t, err)
			require.NoError(t, zeroRange(f, 1<<20, 1<<20, m, make([]byte, scrubChunk)))
			got := make([]byte, len(data))
			_, err = f.ReadAt(got, 0)
			require.NoError(t, err)
			require.Equal(t, -1, firstNonZero(got[1<<20:2<<20]))
			require.Equal(t, data[:1<<20], got[:1<<20])
			require.Equal(t, data[2<<20:], got[2<<20:])
		})
	}
	require.Error(t, zeroRange(nil, 0, 1, ScrubNone, nil), "ScrubNone never zeroes")
}

// TestVerifyZeroSparse: the hole-skipping verification finds exactly the same bytes as the
// full read when the range is punched and one byte is planted (a data page among holes), and
// counts the holes it did not read.
func TestVerifyZeroSparse(t *testing.T) {
	const size = 4 * scrubChunk
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, f.Truncate(size))
	buf, free, err := alignedBuffer(scrubChunk)
	require.NoError(t, err)
	defer free()
	off, n := int64(4096), int64(size-2*4096)
	for _, at := range []int64{-1, off, off + n - 1, off + scrubChunk - 1, off + 3*scrubChunk/2 + 7, off - 1, off + n} {
		t.Run(fmt.Sprint(at), func(t *testing.T) {
			data := make([]byte, size)
			for i := range data {
				data[i] = 0x5a
			}
			_, err := f.WriteAt(data, 0)
			require.NoError(t, err)
			require.NoError(t, zeroRange(f, 0, size, ScrubPunch, nil))
			if at >= 0 {
				_, err := f.WriteAt([]byte{0x80}, at)
				require.NoError(t, err)
			}
			want, err := verifyZero(f, off, n, buf)
			require.NoError(t, err)
			got, holes, err := verifyZeroSparse(f, off, n, buf)
			require.NoError(t, err)
			require.Equal(t, want, got, "the sparse check must find what the full read finds")
			if at < off || at >= off+n {
				require.Equal(t, int64(-1), got)
				if at < 0 {
					require.Equal(t, n, holes, "a punched range is all hole")
				}
			} else {
				require.Equal(t, at, got)
			}
		})
	}
	_, _, err = verifyZeroSparse(f, size-4096, 8192, buf)
	require.ErrorContains(t, err, "short read", "reading past the end is an error, not zero")
}
