// Package awsimport turns the raw output of `aws ec2 describe-*` calls into an ec2sim scenario
// that reproduces the network (ec2sim import aws), and a scenario back into such output
// (ec2sim export aws), so that a real AWS configuration can be brought up as a lab and checked
// before it is deployed.
//
// Load reads a folder of JSON files, one describe call per file, dispatching on each file's
// top-level key (Vpcs, Subnets, SecurityGroups, Reservations, ...), never on its name. Import
// converts what it read: it names every object after its Name tag (or its id), maps every public
// address into the documentation ranges (see mapper), reads rules as AWS and Batfish read them,
// skips what is not active, and returns a Report that accounts for every object and field it
// read — imported, skipped with a reason, or not modelled, by name and count. The scenario it
// returns has been through scenarios.Format and scenarios.Parse, so it loads.
//
// An error in the data (malformed JSON, a reference to an object that is not in it, overlapping
// CIDRs) fails the import, naming the file and the object, unless Options.Partial turns such
// errors into skips. The format and the readings are documented in docs/import-aws.md.
package awsimport
