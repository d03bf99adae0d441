// Package nacl models EC2 network ACLs and compiles each one into an evaluator whose cost per
// packet does not grow with the number of rules (aws-semantics.md §1.3).
//
// The package is pure logic without I/O. The fabric's decision function calls
// [Compiled.Evaluate] for the source subnet's outbound rules and the destination subnet's
// inbound rules when the two subnets differ; trace calls the same function, so the rule number
// it reports is the one the engine applied. A [Compiled] is immutable and safe for concurrent
// use; a rule change is a new [Compile].
//
// # Semantics
//
//   - Rules are numbered 1-32766 and evaluated lowest number first; the first match decides.
//     Numbers are unique per direction across both families, as they are in AWS's API, where an
//     entry is named by (ACL, number, egress).
//   - IPv4 and IPv6 rules are separate sets, chosen by the family of the rule's CIDR. A packet
//     is judged only by the rules of its own family, then by the implicit `*` deny, reported as
//     rule 32767 for IPv4 and 32768 for IPv6.
//   - The peer address is the source on inbound and the destination on outbound; the port range
//     is the destination port in both directions (the "listening port" in AWS's words), which is
//     why replies need the ephemeral-port rules.
//   - Protocol -1, or any protocol other than TCP (6), UDP (17) and ICMP (1), matches every port,
//     type and code. ICMPv6 (58) in a rule with an IPv4 CIDR matches every type and code; with
//     an IPv6 CIDR its type and code apply. ICMP type or code -1 means any.
//   - A CIDR with host bits set is canonicalised (100.68.0.18/18 becomes 100.68.0.0/18) with a
//     warning, as AWS's API does.
//   - Limits: [Limits.RulesPerDirection] (default 20, at most 40) rules per direction and family,
//     counting the `*` rule, so 19 numbered rules by default. AWS: "This quota includes the
//     default deny rules".
//
// Where AWS is silent:
//
//   - A packet without its layer-4 fields (a non-first fragment, or a truncated header) matches
//     only rules that place no condition on them: protocol -1, other protocols, TCP or UDP rules
//     for ports 0-65535 and ICMP rules for any type and code. A port or type rule neither allows
//     nor denies it, so it falls through to a broader rule or the `*` deny.
//
// # How Evaluate works
//
// Each direction and family holds at most 64 rules (the limit is 40), numbered by bit position
// in the order of their rule numbers, so a set of rules is a uint64. Compile precomputes, for
// every input the rules look at, the set of rules whose condition on that input holds:
//
//   - address: a prefix trie (github.com/gaissmai/bart) of the rules' distinct CIDRs, each
//     storing the rules whose CIDR contains it. The CIDRs that contain an address are nested, so
//     the longest-prefix match stores exactly the rules whose CIDR contains the address;
//   - protocol: a table of 256 sets;
//   - destination port: the ports split into the elementary intervals of all port ranges, found
//     through a table of 256-port blocks and a binary search among the intervals that start in
//     the port's block (usually none or one);
//   - ICMP type and code: a table of 256 sets each; a rule's condition is a conjunction of a
//     condition on the type and one on the code, so the AND of the two sets is exact.
//
// A rule matches when every condition holds, so the AND of the sets is the set of matching
// rules and its lowest bit is the first match: a trie lookup, a few table reads, a short search
// and a count of trailing zeros, whatever the number of rules.
//
// # The one-line rule syntax
//
// [ParseEntry] reads a rule in the form the CLI accepts and [Entry.String] writes it back:
//
//	NUMBER ACTION PROTOCOL [SPEC] CIDR DIRECTION
//
//	100 allow tcp 443 0.0.0.0/0 in
//	140 allow tcp 32768-65535 0.0.0.0/0 out
//	150 deny udp all 10.0.0.0/8 in
//	160 allow icmp 3:4 0.0.0.0/0 in
//	170 allow icmpv6 all ::/0 out
//	180 allow all ::/0 in
//	190 allow 47 192.0.2.0/24 in
//
// NUMBER is 1-32766. ACTION is allow or deny. PROTOCOL is all (or -1), tcp, udp, icmp, icmpv6,
// another name from [ParseProtocol], or a number 0-255. SPEC is
//
//   - for tcp and udp, required: a port (443), a range (1024-65535) or all (0-65535);
//   - for icmp, and for icmpv6 with an IPv6 CIDR, required: all, a type (3, any code), or
//     type:code (3:4); "all" or -1 for either part means any, but a code needs a type;
//   - for icmpv6 with an IPv4 CIDR optional, since such a rule matches every type and code;
//   - for other protocols absent: they match every port, and a spec there would mislead.
//
// DIRECTION is in (inbound, ingress) or out (outbound, egress). Words are case-insensitive and
// separated by spaces or tabs.
package nacl
