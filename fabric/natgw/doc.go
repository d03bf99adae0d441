// Package natgw is the translation table of one EC2 NAT gateway (aws-semantics.md §1.5): it
// maps the flows that instances open towards a destination onto the gateway's own address and
// a source port it chooses, translates the replies back, and refuses everything else that
// arrives on the public side.
//
// The package is pure logic without I/O, in the style of sgengine's conntrack. The packet
// engine calls it from its decision path for every packet routed to the gateway (outbound) or
// addressed to it from outside (inbound); nothing on that path allocates, and everything is
// safe for concurrent use.
//
// # Evaluate, then apply
//
// [Table.Outbound] and [Table.Inbound] are pure: they read the table and return a [Decision]
// with a [Verdict], the inside flow, the external port and the [Update] the verdict implies.
// The engine rewrites the packet as the decision says and applies the update with
// [Table.Apply], which reports false when the packet must be dropped after all: a translation
// that lost a race since the evaluation (another goroutine took the chosen port, or reaped
// the mapping, whose port may then serve another flow), and every decision that does not
// translate. The sender retransmits. Trace calls the same functions and applies nothing.
//
// # What the gateway does, and what this package chose where AWS is silent
//
//   - Only a lone TCP SYN, any UDP datagram with ports, or an ICMP query (echo, timestamp,
//     information, address mask; ICMPv6 echo) creates a mapping. The external port (the ICMP
//     identifier for queries) comes from Options.PortMin-PortMax, 1024-65535 by default, and
//     is unique per destination (protocol, remote address, remote port): the same external
//     port serves different destinations at once, which is how AWS reaches 55,000
//     connections per destination and address. A destination with Options.MaxPerDest live
//     mappings (55,000) gets no more: [VerdictErrorPortAllocation], counted by
//     ErrorPortAllocation.
//   - The port is chosen deterministically: a probe that starts at a hash of the inside flow
//     and the table's seed and takes the first port not held by a live mapping to the same
//     destination. AWS's choice is not documented; a fixed seed makes runs reproducible.
//   - Replies are translated back only through an existing mapping: unsolicited inbound
//     packets, an echo request to the gateway included, are dropped ([VerdictNoMapping]).
//     Packets in either direction refresh the mapping.
//   - Idle timeout: a mapping without packets for Options.IdleTimeout (350 s) expires, for
//     every protocol (AWS documents it for connections in general). A TCP connection closed
//     by FINs in both directions or by a RST expires after Options.TCPClosedTimeout (30 s by
//     default, [U]) instead, so that its port is free again sooner.
//   - After an idle timeout AWS "returns an RST packet to any resources behind the NAT gateway
//     that attempt to continue the connection". A TCP segment from the inside that is not a
//     lone SYN and has no live mapping gets [VerdictIdleTimeoutReset] when the expired mapping
//     is still in the table and [VerdictNoMappingReset] when it is not: the engine answers
//     both with a RST to the inside host, so the behaviour does not depend on when expired
//     mappings are reaped. A RST from the inside is never answered with a RST; it is dropped.
//     Inbound packets of an expired connection are dropped silently.
//   - IdleTimeoutCount counts TCP connections that expired while open (not closed by FINs or
//     a RST), when their mapping leaves the table. ActiveConnectionCount counts TCP
//     mappings that are open (SYN sent or established) and not removed yet. Expired mappings
//     are removed by the traffic of their shard a little after their deadline (a bucket of
//     the timing wheel, IdleTimeout/256, later), or by [Table.Reap]; both counters are exact
//     after a Reap with a budget that covers the table. PacketsDropCount counts every packet
//     the gateway does not forward, the ones it answers with a RST included.
//   - Fragments: TCP and ICMP fragments are dropped ([VerdictFragment]), as AWS documents.
//     UDP fragments are forwarded: a first fragment carries the ports and is translated like
//     any datagram; an outbound non-first fragment has no ports and gets
//     [VerdictAddressOnly] (rewrite the source address only; the receiver reassembles by IP
//     ID, which the gateway keeps). An inbound non-first fragment cannot be matched to an
//     inside host without remembering IP IDs, which this table does not do, so it is dropped:
//     a deviation from AWS for fragmented UDP replies.
//   - ICMP errors about a translated flow are translated in both directions: an error from
//     the internet quoting a packet the gateway sent goes back to the inside host, and an
//     error from an inside host quoting a reply it received goes out. They do not refresh the
//     mapping.
//   - Other protocols are dropped ([VerdictUnsupported]). IPv6 flows are handled by the same
//     code when the public address is IPv6 (NAT66, which AWS does not offer); NAT64 is not
//     implemented.
//
// # The table
//
// Everything about one destination lives in one shard, chosen by a hash of the destination:
// the entries, an index by inside flow, an index by external port, and the count of mappings
// per destination. So each lookup, each port probe and each apply takes one shard lock. A
// single very busy destination therefore serialises on one lock, which mirrors AWS's
// per-destination limit.
//
// Entries are 64 bytes without pointers, kept in a slab with a free list; the two indexes are
// open addressing with linear probing and backward-shift deletion over (hash, slot) pairs.
//
// Expiry runs on a timing wheel per shard (wheel.go). A refresh only writes the entry's
// deadline; the wheel refiles refreshed entries when it reaches them, and removes expired
// ones, a few per Apply and as many as asked per Reap. Expired entries still in the table
// count as free when a port is chosen. Because every expired entry sits in one of the one or
// two buckets the wheel has not processed yet, a destination at its limit can tell exactly
// how many of its mappings are live by looking at those buckets only, so the limit costs a
// few microseconds per new connection even at 55,000 mappings, not a scan of the port range.
package natgw
