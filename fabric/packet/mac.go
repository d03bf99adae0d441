package packet

import "fmt"

// MAC is an Ethernet address. It is an array, so it compares with == and can sit in map keys
// and fixed-size conntrack keys without allocation.
type MAC [6]byte

const hexDigits = "0123456789abcdef"

// String formats m the way ip(8) and AWS print it: "02:aa:bb:cc:dd:ee".
func (m MAC) String() string {
	var b [17]byte
	for i, x := range m {
		if i > 0 {
			b[3*i-1] = ':'
		}
		b[3*i] = hexDigits[x>>4]
		b[3*i+1] = hexDigits[x&0x0f]
	}
	return string(b[:])
}

// IsBroadcast reports whether m is ff:ff:ff:ff:ff:ff.
func (m MAC) IsBroadcast() bool {
	return m == MAC{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
}

// IsMulticast reports whether m is a group address (the I/G bit); broadcast is one too.
func (m MAC) IsMulticast() bool { return m[0]&0x01 != 0 }

// IsLocalUnicast reports whether m is a locally administered unicast address, the kind AWS
// assigns to ENIs (02:...), as opposed to a vendor's burned-in one.
func (m MAC) IsLocalUnicast() bool { return m[0]&0x03 == 0x02 }

// IsZero reports whether m is 00:00:00:00:00:00, which no interface may use.
func (m MAC) IsZero() bool { return m == MAC{} }

// ParseMAC parses six two-digit hex groups separated by ':' or '-' (one separator throughout),
// e.g. "02:aa:bb:cc:dd:ee". Unlike net.ParseHardwareAddr it accepts only 48-bit addresses,
// which is all Ethernet in a VPC uses.
func ParseMAC(s string) (MAC, error) {
	var m MAC
	if len(s) != 17 {
		return m, fmt.Errorf("MAC address %q: want six hex pairs like 02:aa:bb:cc:dd:ee", s)
	}
	sep := s[2]
	if sep != ':' && sep != '-' {
		return m, fmt.Errorf("MAC address %q: separator %q is not ':' or '-'", s, sep)
	}
	for i := range m {
		if i > 0 && s[3*i-1] != sep {
			return MAC{}, fmt.Errorf("MAC address %q: mixed or missing separators at offset %d", s, 3*i-1)
		}
		hi, ok1 := unhex(s[3*i])
		lo, ok2 := unhex(s[3*i+1])
		if !ok1 || !ok2 {
			return MAC{}, fmt.Errorf("MAC address %q: %q is not a hex byte", s, s[3*i:3*i+2])
		}
		m[i] = hi<<4 | lo
	}
	return m, nil
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
