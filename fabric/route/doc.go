// Package route models VPC route tables with AWS's rules and compiles each one into a
// longest-prefix-match lookup (aws-semantics.md §1.5).
//
// The package is pure logic without I/O. The fabric's decision function calls
// [Compiled.Lookup] with a packet's destination in the source subnet's table; trace calls the
// same function. A [Compiled] is immutable and safe for concurrent use; a route change is a
// new [Compile], published by the engine with the rest of its snapshot. Lookup serves IPv4 and
// IPv6 through one prefix trie (github.com/gaissmai/bart) and does not allocate.
//
// # AWS's rules, as Check enforces them
//
//   - Every table has a `local` route for each VPC CIDR, made by [NewTable] (or [Table.SyncLocal]
//     when the VPC gains or loses a CIDR). Local routes cannot be added, replaced or deleted,
//     and no other route may have a VPC CIDR as its destination.
//   - A route more specific than a local route is allowed only when its destination is exactly
//     a subnet's CIDR and its target a NAT gateway, a network interface or a Gateway Load
//     Balancer endpoint (the middlebox routes).
//   - No route may point into 169.254.168.0/22 or fd00:ec2::/32, which AWS keeps for its own
//     services (IMDS, DNS). A larger route that contains them may be added, but [Compiled.Lookup]
//     never forwards a packet to those ranges: see [Reserved].
//   - Destinations are canonical CIDRs: 10.0.1.7/24 is refused with the CIDR that was meant.
//   - One static route per destination, and one propagated route. A static and a propagated
//     route to the same destination may coexist; the static one wins. (AWS documents that for
//     static targets IGW, NAT gateway, ENI, instance, gateway endpoint, TGW, peering and GWLB
//     endpoint; for a static VGW route both lead to the same gateway, and for the rest, an
//     egress-only gateway or a blackhole, it is our choice.) Between different destinations the
//     longest prefix wins, whatever their origin, as AWS's prefix-list section says.
//   - Propagated routes come from a virtual private gateway and obey the same rules.
//   - An egress-only internet gateway takes IPv6 destinations only.
//   - A route whose target is deleted stays, in state blackhole ([Table.TargetDeleted]); a
//     route may also target [Blackhole] directly, as scenarios use to drop a range.
//
// Subnets without an explicit association use the main table: see [Associations].
//
// Not modelled: prefix-list destinations, gateway route tables (edge associations), replacing
// the target of a local route, and the quotas on routes per table.
package route
