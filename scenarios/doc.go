// Package scenarios reads scenario files: YAML descriptions of a lab — VPCs with subnets and
// security groups, prefix lists, instances with their ENIs — and of the traffic expected to be
// allowed or denied in it.
//
// The format is strict, so that a typo never silently becomes a different lab: unknown fields,
// wrong types and duplicate keys are errors, and every error carries file:line:col and says what
// would be valid. Beyond the YAML, the loader applies AWS's own rules (CIDR sizes, reserved
// addresses, security group semantics and quotas) so that a scenario that loads here would be
// accepted by AWS too. Where AWS quietly fixes something up (host bits in a rule's CIDR, ports on
// a protocol that has none) the loader does the same and adds a Warning.
//
// Parse returns a complete model with AWS's defaults filled in (the default security group of
// each VPC, a new group's allow-all egress, source/destination check on), so that the engine and
// the runner never need to know the file's shorthands. The format is documented in
// docs/scenario-format.md; Schema returns its JSON schema.
package scenarios
