package packet

import (
	"bytes"
	"testing"
)

func TestParseVnetHdr(t *testing.T) {
	// What the kernel hands over for a TSO'd IPv4 TCP frame: needs-csum, TCPv4 GSO, headers 66
	// bytes, MSS 1448, checksum from 34 stored at +16. Little-endian on x86.
	raw := []byte{0x01, 0x01, 0x42, 0x00, 0xa8, 0x05, 0x22, 0x00, 0x10, 0x00, 0xee}
	h, ok := ParseVnetHdr(raw)
	want := VnetHdr{Flags: VnetFlagNeedsCsum, GSOType: VnetGSOTCPv4, HdrLen: 66, GSOSize: 1448, CsumStart: 34, CsumOffset: 16}
	if !ok || h != want {
		t.Fatalf("ParseVnetHdr = %+v, %v; want %+v, true", h, ok, want)
	}
	if !h.IsGSO() {
		t.Error("TCPv4 header not IsGSO")
	}
	var out [VnetHdrLen]byte
	h.Put(out[:])
	if !bytes.Equal(out[:], raw[:VnetHdrLen]) {
		t.Errorf("Put = % x, want % x", out, raw[:VnetHdrLen])
	}
	if _, ok := ParseVnetHdr(raw[:VnetHdrLen-1]); ok {
		t.Error("ParseVnetHdr accepted 9 bytes")
	}
}

func TestVnetIsGSO(t *testing.T) {
	for typ, want := range map[uint8]bool{VnetGSONone: false, VnetGSOECN: false, VnetGSOTCPv4: true,
		VnetGSOTCPv6 | VnetGSOECN: true, VnetGSOUDP: true, VnetGSOUDPL4: true} {
		if got := (VnetHdr{GSOType: typ}).IsGSO(); got != want {
			t.Errorf("GSOType %#x: IsGSO = %v, want %v", typ, got, want)
		}
	}
}

func TestPutZeroVnetHdr(t *testing.T) {
	b := bytes.Repeat([]byte{0xff}, VnetHdrLen+2)
	PutZeroVnetHdr(b)
	if !bytes.Equal(b, append(make([]byte, VnetHdrLen), 0xff, 0xff)) {
		t.Fatalf("PutZeroVnetHdr left % x", b)
	}
	if h, ok := ParseVnetHdr(b); !ok || h != (VnetHdr{}) || h.IsGSO() {
		t.Fatalf("zero header parses as %+v, %v", h, ok)
	}
}
