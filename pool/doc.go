// Package pool is the simulated hypervisor's host memory and disk pools, and the scrubbing that
// keeps AWS's promise: "When you stop or terminate an instance, the memory allocated to it is
// scrubbed (set to zero) by the hypervisor before it is allocated to a new instance, and every
// block of storage is reset."
//
// A Pool has up to two areas, each one file divided into units:
//
//   - memory: a file on tmpfs (a tmpfs of the pool's size that the pool mounts itself, with huge
//     pages, or a tmpfs directory it is given) divided into frames, 2 MiB by default;
//   - disk: a sparse file next to the pool's state, divided into blocks, 1 MiB by default.
//
// An instance's RAM (a MemoryGrant) and its volumes (Volume, EBS or instance store) are extents
// of those files, each exposed as a loop device bound with LOOP_CONFIGURE to exactly the extent
// (offset and size limit), so the guest can read, write, mmap, mkfs and mount it and sees
// nothing else of the pool. Plain files cannot share pages with a pool file, which is why RAM is
// a block device here and not a file of its own.
//
// Allocation takes the extent freed most recently when it is long enough, then the first free
// extent in address order; free space is coalesced. Tests rely on the first rule to show that
// a new owner gets the very frames or blocks the previous one had, and finds none of its data.
//
// Giving an extent back (FreeMemory, ReleaseVolume, DetachVolume of an instance store,
// ResetVolume) always goes the same way:
//
//  1. detach the loop device, after writing back its page cache; if anyone (the guest, a mount,
//     a mapping) still holds it, stop with ErrBusy and leave everything as it was;
//  2. write "scrub-pending" for the extent into the state file;
//  3. zero the extent in the pool file (fallocate PUNCH_HOLE by default, or explicit writes);
//  4. read every byte back and check it is zero;
//  5. append an audit record and sync it;
//  6. only then put the extent on the free list (or hand it back to its volume).
//
// An extent that fails verification is quarantined: never reused, retried at the next Open.
// A process that dies between 2 and 6 leaves the state saying scrub-pending, and the next Open
// finishes the scrub before anything can be allocated. Open also detaches loop devices onto the
// pool files that the state does not know (a crash between attaching and saving), and discards
// pool files that have no state at all.
//
// For teaching, Options.Scrub = ScrubNone skips steps 3 and 4, so students can watch one
// instance read another's secrets; every audit record and every description of such a pool
// says UNSAFE.
package pool
