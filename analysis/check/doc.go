// Package check reports findings on the rule set of a scenario itself, without bringing a lab up:
// what a security reviewer (or AWS Security Hub, AWS Config and the CIS benchmark, see
// aws-semantics.md §1.7) would flag before the rules are deployed. `ec2sim check` prints them.
//
// Every finding has a stable id from [Catalog] (EC2SIM-SG-001, EC2SIM-NACL-002, ...), a
// severity, the object it is about (a qualified name such as "network ACL main/web-acl ingress
// rule 110") with its place in the file, a message and a fix. The ids never change meaning, so
// CI systems and suppression lists can rely on them.
//
// # How the network ACL findings are decided
//
// Questions about network ACLs (is rule 120 ever the first match? does the ACL admit SSH from
// the whole internet? are replies to ephemeral ports let out?) are answered by running packets
// through the same compiled evaluator the engine uses ([nacl.Compiled.Evaluate]), not by
// comparing rule text. The packets are chosen so that the answer is exact: within one direction
// and family, the rules' CIDRs, port ranges, protocols and ICMP types and codes cut each
// dimension into elementary intervals in which every rule either matches everywhere or
// nowhere, so one packet per combination of interval starts ("witnesses") stands for every
// packet. A rule that is the first match for no witness can never match. The package's tests
// check this against a brute-force model that enumerates every packet of a small universe.
//
// Packets without layer-4 fields (non-first fragments) are not considered: a rule that only they
// can reach is reported as never matching.
//
// # What the loader already rejects
//
// scenarios.Load refuses a rule that references a security group or prefix list that does not
// exist, so stale references never reach this package: `ec2sim check` exits 2 with the loader's
// file:line:col error. What does reach it, and is reported, are references that match nothing:
// a rule naming a group that no ENI uses, or an empty prefix list.
package check
