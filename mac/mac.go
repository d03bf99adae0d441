package mac

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
)

// HW is a 48-bit MAC address.
type HW [6]byte

func (h HW) String() string {
	return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", h[0], h[1], h[2], h[3], h[4], h[5])
}

// IsLocalUnicast reports whether h is a locally administered unicast address (02:xx:... style), the
// only kind ec2sim hands out, as every MAC in AWS's examples is.
func (h HW) IsLocalUnicast() bool { return h[0]&0x02 != 0 && h[0]&0x01 == 0 }

// MACs hands out locally administered unicast MACs that are unique within a lab. The addresses are
// derived from the lab name and a counter so that one scenario gets the same MACs on every run
// (reproducible captures and flow logs), while two labs get different ones.
type MACs struct {
	base uint32
	next uint32
	used map[HW]bool
}

// NewMACs makes an allocator for the lab called lab.
func NewMACs(lab string) *MACs {
	h := fnv.New32a()
	h.Write([]byte(lab))
	return &MACs{base: h.Sum32(), used: map[HW]bool{}}
}

// Next returns a fresh MAC of the form 02:LL:LL:NN:NN:NN, where LL comes from the lab name.
func (m *MACs) Next() HW {
	for {
		m.next++
		var h HW
		h[0] = 0x02
		h[1] = byte(m.base >> 8)
		h[2] = byte(m.base)
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], m.next^(m.base&0xff000000))
		copy(h[3:], n[1:])
		if !m.used[h] {
			m.used[h] = true
			return h
		}
	}
}

// Claim marks h as in use (for a MAC given explicitly), failing when it is taken or not a locally
// administered unicast address.
func (m *MACs) Claim(h HW) error {
	if !h.IsLocalUnicast() {
		return fmt.Errorf("MAC %s: want a locally administered unicast address such as 02:00:00:00:00:01", h)
	}
	if m.used[h] {
		return fmt.Errorf("MAC %s is already in use", h)
	}
	m.used[h] = true
	return nil
}
