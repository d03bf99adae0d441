package lab

// The capture file formats: pcapng (draft-ietf-opsawg-pcapng) with the blocks a capture needs —
// section header, one interface description per ENI, enhanced packets with a comment and the
// direction flag, interface statistics at the end — and classic pcap. gopacket's pcapgo would
// do this, but it pulls in golang.org/x/net, which the module does not depend on; the subset is
// small and the tests check it against tcpdump's reader.

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"
	"time"
)

// pcapng block types and option codes.
const (
	ngSHB = 0x0A0D0D0A
	ngIDB = 0x00000001
	ngISB = 0x00000005
	ngEPB = 0x00000006

	ngByteOrderMagic = 0x1A2B3C4D

	optEnd         = 0
	optComment     = 1
	optSHBOS       = 3
	optSHBUserAppl = 4
	optIfName      = 2
	optIfDesc      = 3
	optIfTsresol   = 9
	optIfOS        = 12
	optEPBFlags    = 2
	optISBStart    = 2
	optISBEnd      = 3
	optISBIfRecv   = 4
	optISBIfDrop   = 5

	// EPB flags, bits 0-1: the direction.
	epbInbound  = 1
	epbOutbound = 2

	linkTypeEthernet = 1
	// maxBlock bounds what the reader accepts, so a corrupt length cannot make it allocate
	// gigabytes: a 64 KiB frame, its comment and headers fit with room to spare.
	maxBlock = 1 << 20
)

var le = binary.LittleEndian

// ngBlock builds one pcapng block: its body and options, then the trailing length.
type ngBlock struct {
	b []byte
}

// newBlock starts a block of type typ with room for size more bytes.
func newBlock(typ uint32, size int) *ngBlock {
	b := make([]byte, 8, 8+size)
	le.PutUint32(b, typ)
	return &ngBlock{b: b}
}

func (k *ngBlock) u16(v uint16) { k.b = le.AppendUint16(k.b, v) }
func (k *ngBlock) u32(v uint32) { k.b = le.AppendUint32(k.b, v) }

// bytes appends v padded to 32 bits.
func (k *ngBlock) bytes(v []byte) {
	k.b = append(k.b, v...)
	for len(k.b)%4 != 0 {
		k.b = append(k.b, 0)
	}
}

func (k *ngBlock) opt(code uint16, v []byte) {
	k.u16(code)
	k.u16(uint16(len(v)))
	k.bytes(v)
}

func (k *ngBlock) optString(code uint16, s string) {
	if s != "" {
		// An option's length is 16 bits; a longer text is cut rather than corrupting the file.
		k.opt(code, []byte(s[:min(len(s), math.MaxUint16-3)]))
	}
}

func (k *ngBlock) optU64(code uint16, v uint64) { k.opt(code, le.AppendUint64(nil, v)) }

// optTime appends a timestamp option (two 32-bit halves, high first, in nanoseconds).
func (k *ngBlock) optTime(code uint16, t time.Time) {
	ns := uint64(t.UnixNano())
	k.opt(code, le.AppendUint32(le.AppendUint32(nil, uint32(ns>>32)), uint32(ns)))
}

// finish ends the options and writes the block to w.
func (k *ngBlock) finish(w io.Writer) error {
	k.u32(0) // opt_endofopt: code and length 0
	n := uint32(len(k.b) + 4)
	le.PutUint32(k.b[4:], n)
	k.u32(n)
	_, err := w.Write(k.b)
	return err
}

func writeSHB(w io.Writer, appl string) error {
	k := newBlock(ngSHB, 64)
	k.u32(ngByteOrderMagic)
	k.u16(1)
	k.u16(0)
	k.u32(math.MaxUint32) // section length unknown (-1): the file is a stream
	k.u32(math.MaxUint32)
	k.optString(optSHBOS, "linux")
	k.optString(optSHBUserAppl, appl)
	return k.finish(w)
}

func writeIDB(w io.Writer, i CaptureInterface) error {
	k := newBlock(ngIDB, 64+len(i.Name)+len(i.ENI)+len(i.Description))
	k.u16(linkTypeEthernet)
	k.u16(0)
	k.u32(0) // snap length: none
	k.optString(optIfName, i.Name+" "+i.ENI)
	k.optString(optIfDesc, i.Description)
	k.opt(optIfTsresol, []byte{9}) // nanoseconds
	k.optString(optIfOS, "linux")
	return k.finish(w)
}

func writeEPB(w io.Writer, f *CapturedFrame) error {
	k := newBlock(ngEPB, 20+len(f.Data)+len(f.Comment)+32)
	ns := uint64(f.Time.UnixNano())
	k.u32(uint32(f.Interface))
	k.u32(uint32(ns >> 32))
	k.u32(uint32(ns))
	k.u32(uint32(len(f.Data)))
	k.u32(uint32(len(f.Data)))
	k.bytes(f.Data)
	k.optString(optComment, f.Comment)
	flags := uint32(epbInbound)
	if f.Outbound {
		flags = epbOutbound
	}
	k.opt(optEPBFlags, le.AppendUint32(nil, flags))
	return k.finish(w)
}

func writeISB(w io.Writer, iface int, start, end time.Time, recv, drop uint64) error {
	k := newBlock(ngISB, 80)
	ns := uint64(end.UnixNano())
	k.u32(uint32(iface))
	k.u32(uint32(ns >> 32))
	k.u32(uint32(ns))
	k.optTime(optISBStart, start)
	k.optTime(optISBEnd, end)
	k.optU64(optISBIfRecv, recv)
	k.optU64(optISBIfDrop, drop)
	return k.finish(w)
}

// writePcapHeader writes a classic pcap file header: microsecond timestamps, Ethernet.
func writePcapHeader(w io.Writer) error {
	var h [24]byte
	le.PutUint32(h[0:], 0xa1b2c3d4)
	le.PutUint16(h[4:], 2)
	le.PutUint16(h[6:], 4)
	le.PutUint32(h[16:], pcapSnaplen)
	le.PutUint32(h[20:], linkTypeEthernet)
	_, err := w.Write(h[:])
	return err
}

func writePcapRecord(w io.Writer, f *CapturedFrame) error {
	var h [16]byte
	us := f.Time.UnixMicro()
	le.PutUint32(h[0:], uint32(us/1e6))
	le.PutUint32(h[4:], uint32(us%1e6))
	le.PutUint32(h[8:], uint32(len(f.Data)))
	le.PutUint32(h[12:], uint32(len(f.Data)))
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	_, err := w.Write(f.Data)
	return err
}

// CaptureReader reads a pcapng capture as a stream: `ec2sim capture` uses it on what the
// daemon sends. It understands every section's byte order, interface descriptions with their
// timestamp resolution, enhanced packets, comments, direction flags and interface
// statistics; other blocks are skipped.
type CaptureReader struct {
	r      *bufio.Reader
	bo     binary.ByteOrder
	ifaces []readIface
	// Received and Dropped are the counts of the last statistics block of each interface
	// (frames the capture wrote, frames it lost because its reader was slow).
	Received, Dropped []uint64
}

type readIface struct {
	info CaptureInterface
	unit time.Duration // per timestamp tick; 0 means finer than a nanosecond
	div  uint64        // ticks per nanosecond when unit is 0
}

// NewCaptureReader reads the section header at the start of r.
func NewCaptureReader(r io.Reader) (*CaptureReader, error) {
	cr := &CaptureReader{r: bufio.NewReaderSize(r, 64<<10)}
	typ, body, err := cr.block()
	if err != nil {
		return nil, err
	}
	if typ != ngSHB {
		return nil, fmt.Errorf("not a pcapng stream: first block type %#x, want a section header %#x", typ, ngSHB)
	}
	return cr, cr.section(body)
}

// Interfaces lists the interfaces described so far.
func (cr *CaptureReader) Interfaces() []CaptureInterface {
	out := make([]CaptureInterface, len(cr.ifaces))
	for i := range cr.ifaces {
		out[i] = cr.ifaces[i].info
	}
	return out
}

// block reads one block and returns its type and body (without type and lengths). The byte
// order of a section header is settled from its own magic before its length is read.
func (cr *CaptureReader) block() (uint32, []byte, error) {
	var h [12]byte
	if _, err := io.ReadFull(cr.r, h[:8]); err != nil {
		return 0, nil, err
	}
	typ := le.Uint32(h[:4])
	if typ == ngSHB {
		if _, err := io.ReadFull(cr.r, h[8:12]); err != nil {
			return 0, nil, unexpected(err)
		}
		switch {
		case le.Uint32(h[8:]) == ngByteOrderMagic:
			cr.bo = binary.LittleEndian
		case binary.BigEndian.Uint32(h[8:]) == ngByteOrderMagic:
			cr.bo = binary.BigEndian
		default:
			return 0, nil, fmt.Errorf("pcapng section header has byte-order magic %#x, want %#x", le.Uint32(h[8:]), ngByteOrderMagic)
		}
		cr.ifaces, cr.Received, cr.Dropped = nil, nil, nil
	} else if cr.bo == nil {
		return 0, nil, fmt.Errorf("pcapng block %#x before any section header", typ)
	} else {
		typ = cr.bo.Uint32(h[:4])
	}
	n := cr.bo.Uint32(h[4:8])
	fixed := uint32(12)
	if typ != ngSHB {
		fixed = 8
	}
	if n < fixed+4 || n%4 != 0 || n > maxBlock {
		return 0, nil, fmt.Errorf("pcapng block %#x has length %d: want a multiple of 4 from %d to %d", typ, n, fixed+4, maxBlock)
	}
	body := make([]byte, n-8)
	copy(body, h[8:fixed])
	if _, err := io.ReadFull(cr.r, body[fixed-8:]); err != nil {
		return 0, nil, unexpected(err)
	}
	if t := cr.bo.Uint32(body[len(body)-4:]); t != n {
		return 0, nil, fmt.Errorf("pcapng block %#x: trailing length %d differs from leading %d", typ, t, n)
	}
	return typ, body[:len(body)-4], nil
}

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

func (cr *CaptureReader) section(body []byte) error {
	if len(body) < 16 {
		return fmt.Errorf("pcapng section header of %d bytes is too short", len(body))
	}
	if major := cr.bo.Uint16(body[4:]); major != 1 {
		return fmt.Errorf("pcapng version %d: want 1", major)
	}
	return nil
}

// options calls fn for each option of a block's option area.
func (cr *CaptureReader) options(b []byte, fn func(code uint16, v []byte)) error {
	for len(b) >= 4 {
		code, n := cr.bo.Uint16(b), int(cr.bo.Uint16(b[2:]))
		if code == optEnd {
			return nil
		}
		padded := (n + 3) &^ 3
		if 4+padded > len(b) {
			return fmt.Errorf("pcapng option %d of length %d runs past its block", code, n)
		}
		fn(code, b[4:4+n])
		b = b[4+padded:]
	}
	return nil
}

// Next returns the next frame, reading past the other blocks; io.EOF at a block boundary
// ends the stream. The frame's Data is its own.
func (cr *CaptureReader) Next() (*CapturedFrame, error) {
	for {
		typ, body, err := cr.block()
		if err != nil {
			return nil, err
		}
		switch typ {
		case ngSHB:
			if err := cr.section(body); err != nil {
				return nil, err
			}
		case ngIDB:
			if err := cr.idb(body); err != nil {
				return nil, err
			}
		case ngISB:
			if err := cr.isb(body); err != nil {
				return nil, err
			}
		case ngEPB:
			return cr.epb(body)
		}
	}
}

func (cr *CaptureReader) idb(body []byte) error {
	if len(body) < 8 {
		return fmt.Errorf("pcapng interface description of %d bytes is too short", len(body))
	}
	ri := readIface{unit: time.Microsecond}
	err := cr.options(body[8:], func(code uint16, v []byte) {
		switch code {
		case optIfName:
			ri.info.Name, ri.info.ENI, _ = strings.Cut(string(v), " ")
		case optIfDesc:
			ri.info.Description = string(v)
		case optIfTsresol:
			if len(v) == 1 {
				ri.unit, ri.div = tsUnit(v[0])
			}
		}
	})
	cr.ifaces = append(cr.ifaces, ri)
	cr.Received = append(cr.Received, 0)
	cr.Dropped = append(cr.Dropped, 0)
	return err
}

// tsUnit turns if_tsresol into a tick length: 10^-n s, or 2^-n s with the high bit set.
func tsUnit(r byte) (time.Duration, uint64) {
	var perSec float64
	if r&0x80 != 0 {
		perSec = math.Ldexp(1, int(r&0x7f))
	} else {
		perSec = math.Pow10(int(r))
	}
	if perSec <= 1e9 {
		return time.Duration(1e9 / perSec), 0
	}
	return 0, uint64(min(perSec/1e9, 1<<62))
}

func (cr *CaptureReader) time(iface int, hi, lo uint32) time.Time {
	ticks := uint64(hi)<<32 | uint64(lo)
	ri := &cr.ifaces[iface]
	if ri.unit > 0 {
		return time.Unix(0, 0).Add(time.Duration(ticks) * ri.unit)
	}
	return time.Unix(0, int64(ticks/ri.div))
}

func (cr *CaptureReader) isb(body []byte) error {
	if len(body) < 12 {
		return fmt.Errorf("pcapng interface statistics of %d bytes is too short", len(body))
	}
	id := int(cr.bo.Uint32(body))
	if id >= len(cr.ifaces) {
		return fmt.Errorf("pcapng statistics for interface %d: the section has %d", id, len(cr.ifaces))
	}
	return cr.options(body[12:], func(code uint16, v []byte) {
		if len(v) != 8 {
			return
		}
		switch code {
		case optISBIfRecv:
			cr.Received[id] = cr.bo.Uint64(v)
		case optISBIfDrop:
			cr.Dropped[id] = cr.bo.Uint64(v)
		}
	})
}

func (cr *CaptureReader) epb(body []byte) (*CapturedFrame, error) {
	if len(body) < 20 {
		return nil, fmt.Errorf("pcapng enhanced packet of %d bytes is too short", len(body))
	}
	id := int(cr.bo.Uint32(body))
	if id >= len(cr.ifaces) {
		return nil, fmt.Errorf("pcapng packet on interface %d: the section has %d", id, len(cr.ifaces))
	}
	capLen := int(cr.bo.Uint32(body[12:]))
	padded := (capLen + 3) &^ 3
	if capLen < 0 || 20+padded > len(body) {
		return nil, fmt.Errorf("pcapng packet of %d bytes does not fit its block of %d", capLen, len(body))
	}
	f := &CapturedFrame{Interface: id, Time: cr.time(id, cr.bo.Uint32(body[4:]), cr.bo.Uint32(body[8:]))}
	f.Data = body[20 : 20+capLen : 20+capLen]
	err := cr.options(body[20+padded:], func(code uint16, v []byte) {
		switch code {
		case optComment:
			if f.Comment == "" {
				f.Comment = string(v)
			}
		case optEPBFlags:
			if len(v) == 4 {
				f.Outbound = cr.bo.Uint32(v)&3 == epbOutbound
			}
		}
	})
	return f, err
}
