package awsimport

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
)

// Public addresses in describe output are real AWS (or customer) addresses; the lab must never
// send a packet to one. The mapper moves every public IPv4 address and prefix into the
// documentation ranges and every global IPv6 prefix into 2001:db8::/32, deterministically: it
// first collects every public prefix the conversion meets (a first, discarded conversion run),
// then allocates in a fixed order (shortest prefix first, then by address), so the same input
// always maps the same way.
//
// Rules of the mapping (docs/import-aws.md):
//   - a prefix of /28 or longer maps to a block of its own size; a shorter one is shrunk to a /28
//     (the report says so), since the three documentation /24s hold only 768 addresses;
//   - a prefix inside one already mapped maps inside that block, so an Elastic IP stays covered by
//     a rule that covers it (single addresses take distinct addresses of the block while it has
//     free ones, and one of their own after that);
//   - 203.0.113.100-255 is left to the lab's pool of automatic public IPs (lab/internet.go), and
//     addresses of the documentation ranges already in the data keep their value;
//   - the CIDR of an on-premises network reached by a VPN (a VPN connection's static route) maps
//     into 100.64.0.0/10 instead, keeping its size: the scenario format keeps on-premises networks
//     out of the documentation ranges, which are the simulated internet's;
//   - 0.0.0.0/0, private ranges (10/8, 172.16/12, 192.168/16, 100.64/10) and prefixes that contain
//     private or documentation space stay as they are.
type mapper struct {
	collecting bool
	seen       map[netip.Prefix]bool // public prefixes met while collecting
	onPrem     map[netip.Prefix]bool // of those, the on-premises CIDRs
	out        map[netip.Prefix]mapped
	uses       map[netip.Prefix]string // the first use of each, for the report
}

type mapped struct {
	to     netip.Prefix
	shrunk bool
}

var (
	privateV4 = []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
	}
	docV4 = []netip.Prefix{
		netip.MustParsePrefix("192.0.2.0/24"), netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
	}
	docV6       = netip.MustParsePrefix("2001:db8::/32")
	globalV6    = netip.MustParsePrefix("2000::/3")
	sharedSpace = netip.MustParsePrefix("100.64.0.0/10")
)

// poolStart is the first address of the lab's pool of automatic public IPs, which the mapping
// leaves free (lab/internet.go hands out 203.0.113.100 and up).
var poolStart = netip.MustParseAddr("203.0.113.100")

func newMapper() *mapper {
	return &mapper{collecting: true, seen: map[netip.Prefix]bool{}, onPrem: map[netip.Prefix]bool{},
		out: map[netip.Prefix]mapped{}, uses: map[netip.Prefix]string{}}
}

// isPublic reports whether p holds only public addresses that the mapping must move.
func isPublic(p netip.Prefix) bool {
	if p.Bits() == 0 {
		return false
	}
	if p.Addr().Is6() {
		return globalV6.Contains(p.Addr()) && p.Bits() >= globalV6.Bits() && !docV6.Overlaps(p)
	}
	bad := []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"), netip.MustParsePrefix("127.0.0.0/8"),
		netip.MustParsePrefix("169.254.0.0/16"), netip.MustParsePrefix("224.0.0.0/3"),
	}
	for _, r := range slices.Concat(privateV4, docV4, bad) {
		if r.Overlaps(p) {
			return false
		}
	}
	return true
}

// prefix returns the lab's value for p (canonical); use says where p was met.
func (m *mapper) prefix(p netip.Prefix, use string) netip.Prefix {
	p = p.Masked()
	if !isPublic(p) {
		return p
	}
	if m.collecting {
		m.seen[p] = true
		if _, ok := m.uses[p]; !ok {
			m.uses[p] = use
		}
		return p
	}
	if to, ok := m.out[p]; ok {
		return to.to
	}
	return p // unreachable: finish mapped every prefix collected
}

// addr maps a single address.
func (m *mapper) addr(a netip.Addr, use string) netip.Addr {
	return m.prefix(netip.PrefixFrom(a, a.BitLen()), use).Addr()
}

// onPremCIDR maps the CIDR of an on-premises network.
func (m *mapper) onPremCIDR(p netip.Prefix, use string) netip.Prefix {
	if m.collecting && isPublic(p.Masked()) {
		m.onPrem[p.Masked()] = true
	}
	return m.prefix(p, use)
}

// finish allocates the lab's value of every prefix collected and switches to mapping.
func (m *mapper) finish(reserved []netip.Addr) error {
	m.collecting = false
	all := make([]netip.Prefix, 0, len(m.seen))
	for p := range m.seen {
		all = append(all, p)
	}
	slices.SortFunc(all, func(a, b netip.Prefix) int {
		if a.Addr().Is4() != b.Addr().Is4() {
			if a.Addr().Is4() {
				return -1
			}
			return 1
		}
		return cmp.Or(cmp.Compare(a.Bits(), b.Bits()), a.Addr().Compare(b.Addr()))
	})
	sp := newSpace(reserved)
	var v6next uint16
	for _, p := range all {
		switch {
		case p.Addr().Is6():
			// 2001:db8:N::/max(len,48): one /48 per prefix, the host part kept.
			v6next++
			bits := max(p.Bits(), 48)
			b := docV6.Addr().As16()
			b[4], b[5] = byte(v6next>>8), byte(v6next)
			src := p.Addr().As16()
			for i := 6; i < 16; i++ {
				b[i] = src[i]
			}
			m.out[p] = mapped{to: netip.PrefixFrom(netip.AddrFrom16(b), bits).Masked(), shrunk: bits != p.Bits()}
		case m.onPrem[p]:
			to, err := sp.allocShared(p.Bits())
			if err != nil {
				return fmt.Errorf("on-premises CIDR %s (%s): %w", p, m.uses[p], err)
			}
			m.out[p] = mapped{to: to}
		default:
			if to, ok := m.inside(p, sp); ok {
				m.out[p] = to
				continue
			}
			bits := max(p.Bits(), 28)
			to, err := sp.alloc(bits)
			if err != nil {
				return fmt.Errorf("public address %s (%s): %w; %d public prefixes in the data", p, m.uses[p], err, len(all))
			}
			m.out[p] = mapped{to: to, shrunk: bits != p.Bits()}
		}
	}
	return nil
}

// inside maps p into the block of an already mapped prefix that contains it, if any.
func (m *mapper) inside(p netip.Prefix, sp *space) (mapped, bool) {
	var parent netip.Prefix
	for q := range m.out {
		if q.Addr().Is4() && q.Bits() < p.Bits() && q.Contains(p.Addr()) && (!parent.IsValid() || q.Bits() > parent.Bits()) {
			parent = q
		}
	}
	if !parent.IsValid() {
		return mapped{}, false
	}
	blk := m.out[parent]
	bits := max(p.Bits(), blk.to.Bits())
	size := uint32(1) << (32 - blk.to.Bits())
	off := (u32(p.Addr()) - u32(parent.Addr())) % size
	base := u32(blk.to.Addr())
	if bits == 32 && blk.shrunk {
		// A single address has one holder: in a shrunk block offsets collide, so probe for a
		// free one. (In a block of the original's size the offset is already unique.)
		for i := uint32(0); i < size; i++ {
			a := a4(base + (off+i)%size)
			if !sp.held[a] && a.As4()[3] != 0 && a.As4()[3] != 255 {
				sp.held[a] = true
				return mapped{to: netip.PrefixFrom(a, 32), shrunk: blk.shrunk}, true
			}
		}
		return mapped{}, false // the block is full: the address gets one of its own
	}
	return mapped{to: netip.PrefixFrom(a4(base+off), bits).Masked(), shrunk: bits != p.Bits()}, true
}

func u32(a netip.Addr) uint32 {
	b := a.As4()
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}

func a4(v uint32) netip.Addr {
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// space is the free part of the documentation ranges, address by address, and the next free
// block of 100.64.0.0/10.
type space struct {
	used map[netip.Addr]bool
	// held are the single addresses given out inside shrunk blocks (whose addresses are all
	// used by the block itself).
	held       map[netip.Addr]bool
	sharedNext uint32
}

func newSpace(reserved []netip.Addr) *space {
	s := &space{used: map[netip.Addr]bool{}, held: map[netip.Addr]bool{}, sharedNext: u32(sharedSpace.Addr())}
	for _, a := range reserved {
		s.used[a] = true
	}
	return s
}

func usable(a netip.Addr) bool {
	in := false
	for _, d := range docV4 {
		in = in || d.Contains(a)
	}
	return in && !(docV4[2].Contains(a) && a.Compare(poolStart) >= 0)
}

// takeOne claims a single address for a holder (not a network or broadcast-looking .0/.255).
func (s *space) takeOne(a netip.Addr) bool {
	if !usable(a) || s.used[a] || a.As4()[3] == 0 || a.As4()[3] == 255 {
		return false
	}
	s.used[a] = true
	return true
}

// alloc claims the first free aligned block of the given length.
func (s *space) alloc(bits int) (netip.Prefix, error) {
	size := uint32(1) << (32 - bits)
	for _, d := range docV4 {
		start, end := u32(d.Addr()), u32(d.Addr())+256
		for b := start; b+size <= end; b += size {
			if bits == 32 {
				if s.takeOne(a4(b)) {
					return netip.PrefixFrom(a4(b), 32), nil
				}
				continue
			}
			free := true
			for i := uint32(0); i < size && free; i++ {
				free = usable(a4(b+i)) && !s.used[a4(b+i)]
			}
			if free {
				for i := uint32(0); i < size; i++ {
					s.used[a4(b+i)] = true
				}
				return netip.PrefixFrom(a4(b), bits), nil
			}
		}
	}
	return netip.Prefix{}, fmt.Errorf("no free /%d left in the documentation ranges (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0-99)", bits)
}

// allocShared claims the next aligned block of 100.64.0.0/10 of the given length.
func (s *space) allocShared(bits int) (netip.Prefix, error) {
	if bits < sharedSpace.Bits() {
		return netip.Prefix{}, fmt.Errorf("a /%d does not fit in %s; want /%d or longer", bits, sharedSpace, sharedSpace.Bits())
	}
	size := uint32(1) << (32 - bits)
	b := (s.sharedNext + size - 1) / size * size
	if !sharedSpace.Contains(a4(b)) || !sharedSpace.Contains(a4(b+size-1)) {
		return netip.Prefix{}, fmt.Errorf("%s is full", sharedSpace)
	}
	s.sharedNext = b + size
	return netip.PrefixFrom(a4(b), bits), nil
}

// Mapping is one public prefix and the lab's value for it.
type Mapping struct {
	Original, Mapped netip.Prefix
	// Shrunk: the original was wider than the block it maps to.
	Shrunk bool
	// Use says where the prefix was first met, e.g. "security group web: ingress rule".
	Use string
}

// mappings lists the mapping in allocation order.
func (m *mapper) mappings() []Mapping {
	var out []Mapping
	for p, to := range m.out {
		out = append(out, Mapping{Original: p, Mapped: to.to, Shrunk: to.shrunk, Use: m.uses[p]})
	}
	slices.SortFunc(out, func(a, b Mapping) int {
		return cmp.Or(cmp.Compare(b.Original.Addr().BitLen(), a.Original.Addr().BitLen()), a.Original.Addr().Compare(b.Original.Addr()), cmp.Compare(a.Original.Bits(), b.Original.Bits()))
	})
	return out
}
