// Package tfimport turns a Terraform plan — the JSON of `terraform show -json PLANFILE` — into an
// ec2sim scenario, so that a rule set can be tried on real packets before it is applied.
//
// A plan describes most network objects completely, but the identifiers that tie them together
// (vpc_id, subnet_id, security group ids, gateway ids) are only known after apply. Those are
// resolved through the plan's configuration: each unknown attribute's expression lists the
// references it was written with ("aws_vpc.main.id"), which lead, through module outputs and
// input variables and count/for_each indexes, to another resource of the plan. What cannot be
// resolved is reported by resource address, and so is every resource type that is not modelled:
// nothing is dropped silently, and a partial import is never written as if it were complete.
//
// Public and Elastic IPs are taken from the documentation ranges, never from the plan, so that no
// packet of a lab carries a real public address.
//
// Reading (plan.go) is apart from reference resolution (refs.go) and from building the scenario
// (build.go, rules.go, instances.go); the report (report.go) lists what was mapped, assigned,
// skipped and left unresolved. The CLI is `ec2sim import terraform` (docs/import-terraform.md).
package tfimport
