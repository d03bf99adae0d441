// Package sgengine enforces EC2 security groups: it compiles the groups of every ENI into
// lookup structures and tracks connections with AWS's rules (aws-semantics.md §1.1, §1.2).
//
// The package is pure logic without I/O. The packet engine calls it from the reader goroutine
// of every ENI port, so everything here is safe for concurrent use and nothing on the decision
// path allocates.
//
// # Evaluate, then apply
//
// [Policy.Egress] and [Policy.Ingress] are pure: they read the compiled policy and the ENI's
// [Conntrack] and return a [Decision] that carries the verdict, its reason, the rule that
// allowed the packet and the conntrack [Update] the verdict implies. The engine applies the
// update with [Conntrack.Apply] after it has settled the packet's fate; trace and the static
// analyser call the same functions and apply nothing, so what they explain is what the engine
// does.
//
// A Policy is an immutable snapshot built by [Compile]; a rule or membership change is a new
// Compile, published by the engine through an atomic pointer. Conntrack state outlives
// snapshots, which is what keeps tracked flows alive across rule changes.
//
// # The middlebox caveat
//
// A rule that references a security group matches the private IPs of the ENIs in that group,
// but only when the packet's peer is the ENI that holds the address. AWS: "When traffic is
// routed through a middlebox appliance, a security-group reference does not allow the
// traffic. Each instance must allow the other by private IP or by subnet CIDR." The engine
// sets [Flow.Forwarded] when the peer address (the destination on egress, the source on
// ingress) is not held by the ENI on the other side of the hop: on the sender's egress towards
// the appliance and on the receiver's ingress from it. On the appliance's own ENI each peer is
// the instance that holds the address, so its group references match as usual. For a
// forwarded packet:
//
//   - rules that reference a security group do not match; CIDR and prefix-list rules do, and
//     [Decision.Rule] names the first of those that allows the packet;
//   - conntrack is unchanged: a packet of a tracked flow passes whatever created the entry,
//     and a forwarded packet that the other rules allow creates one as usual;
//   - whether a flow is untracked is unchanged, since that looks at the /0 rules only.
//
// Compile gives each ENI and direction a second matcher for forwarded packets. Group
// references match host addresses only, the leaves of the prefix trie, so the ordinary matcher
// is the forwarded one plus a leaf per member address: the two share their rule entries and
// differ by a copy of the trie, and are one where the references match no address.
//
// # Semantics chosen where AWS is silent or vague
//
//   - Tracked flows survive rule removal until they go idle; untracked flows are re-evaluated
//     by the rules on every packet and so are cut at once.
//   - A flow that was untracked and becomes tracking-eligible (for example the outbound
//     allow-all rule is removed) has no entry. Its next packet is judged by the rules like a new
//     one: a UDP or other-protocol packet (or an ICMP request) that the rules allow then creates
//     an entry, but a TCP segment without a lone SYN never does, so an existing TCP connection
//     whose replies are no longer allowed by the rules breaks, as AWS documents for narrowing the
//     rules of an untracked flow. New connections are tracked from their SYN.
//   - Only a lone SYN creates a TCP entry. A SYN-ACK, bare ACK, FIN or RST that matches no entry
//     passes only if the rules allow it in its own direction, and creates nothing. This is also
//     what happens after an idle timeout: AWS does not pick up connections mid-stream.
//   - "Allowed by a 0.0.0.0/0 rule" means that the /0 rules of the group union (CIDR or prefix
//     list entry) allow the packet, even if a narrower rule allows it too; "a rule in the other
//     direction that permits all ports" means the /0 rules of the same family on the other side
//     cover ports 0-65535 for the packet's protocol, together (protocol -1 counts for both).
//     Conntrack sees packets, not flows, so a packet is also untracked when it would be the
//     reply of an untracked flow started the other way: otherwise the answer of an untracked
//     inbound UDP query would create an entry.
//   - ICMP requests with a reply type (echo, timestamp, information, address mask; ICMPv6 echo)
//     are tracked by addresses and identifier; other non-error ICMP passes by the rules only and
//     creates no entry. ICMP errors never create entries and, by default, are admitted only by
//     rules (PMTUD needs an inbound ICMP rule, as AWS documents); Config.RelatedICMP admits an
//     error whose quoted packet belongs to a tracked flow, as Linux conntrack does.
//   - A UDP flow becomes a stream (UDPStream timeout) after its second request-response
//     exchange: the reply side has answered the initiator twice.
//   - Timeouts AWS does not document (ICMP, TCP handshake and closing) are knobs whose
//     defaults follow Linux conntrack; see [Timeouts].
//
// The conntrack table is bucket-free open addressing with linear probing and backward-shift
// deletion, sharded with a mutex per shard. Entries are 48 bytes and hold no pointers;
// expired entries are reaped a few slots at a time on every insert and whenever the table
// grows, and [Conntrack.Reap] lets the engine sweep on a timer.
package sgengine
