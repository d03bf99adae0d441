package packet

import "encoding/binary"

// VnetHdrLen is the size of struct virtio_net_hdr, which a TAP device opened with IFF_VNET_HDR
// puts before every frame it reads and expects before every frame it is given.
const VnetHdrLen = 10

// Values of VnetHdr.Flags (VIRTIO_NET_HDR_F_*).
const (
	// VnetFlagNeedsCsum: the L4 checksum is partial; CsumStart/CsumOffset say where to finish it.
	VnetFlagNeedsCsum = 1
	// VnetFlagDataValid: the checksum was already verified.
	VnetFlagDataValid = 2
)

// Values of VnetHdr.GSOType (VIRTIO_NET_HDR_GSO_*).
const (
	VnetGSONone  = 0
	VnetGSOTCPv4 = 1
	VnetGSOUDP   = 3
	VnetGSOTCPv6 = 4
	VnetGSOUDPL4 = 5
	VnetGSOECN   = 0x80 // flag bit, ORed into a TCP type
)

// VnetHdr is struct virtio_net_hdr. The TAP device uses the host's byte order for it (legacy
// virtio without TUNSETVNETLE), which is little-endian on every machine ec2sim targets.
type VnetHdr struct {
	Flags      uint8
	GSOType    uint8
	HdrLen     uint16 // length of the headers to repeat in every segment
	GSOSize    uint16 // payload bytes per segment (the MSS for TCP)
	CsumStart  uint16 // where checksumming starts, from the frame start
	CsumOffset uint16 // where to store the checksum, from CsumStart
}

// ParseVnetHdr reads the header at the start of b; ok is false when b is shorter than
// VnetHdrLen.
func ParseVnetHdr(b []byte) (h VnetHdr, ok bool) {
	if len(b) < VnetHdrLen {
		return VnetHdr{}, false
	}
	return VnetHdr{
		Flags:      b[0],
		GSOType:    b[1],
		HdrLen:     binary.LittleEndian.Uint16(b[2:]),
		GSOSize:    binary.LittleEndian.Uint16(b[4:]),
		CsumStart:  binary.LittleEndian.Uint16(b[6:]),
		CsumOffset: binary.LittleEndian.Uint16(b[8:]),
	}, true
}

// IsGSO reports whether the frame behind h is a super-frame that the kernel segments.
func (h VnetHdr) IsGSO() bool { return h.GSOType&^VnetGSOECN != VnetGSONone }

// Put writes h into the first VnetHdrLen bytes of b, which must be that long.
func (h VnetHdr) Put(b []byte) {
	_ = b[VnetHdrLen-1] // one bounds check, and a clear panic for a short buffer
	b[0] = h.Flags
	b[1] = h.GSOType
	binary.LittleEndian.PutUint16(b[2:], h.HdrLen)
	binary.LittleEndian.PutUint16(b[4:], h.GSOSize)
	binary.LittleEndian.PutUint16(b[6:], h.CsumStart)
	binary.LittleEndian.PutUint16(b[8:], h.CsumOffset)
}

// PutZeroVnetHdr writes the header of a plain frame (no GSO, complete checksums) into the first
// VnetHdrLen bytes of b, for frames the engine originates such as ARP replies.
func PutZeroVnetHdr(b []byte) {
	clear(b[:VnetHdrLen])
}
