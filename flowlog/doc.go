// Package flowlog is VPC Flow Logs as pure logic: what one packet on one ENI contributes to a
// flow log record, how records aggregate per ENI per capture window, how they are written in
// AWS's default and custom formats, and how the files are read back.
//
// The engine calls Aggregator.Record once per packet and per ENI it crosses (allocation-free on
// an existing flow), and Aggregator.Tick from its clock; Tick hands back the records of the
// windows that ended, including NODATA and SKIPDATA records, which a Sink writes as a plain-text
// file with a header line (as S3 exports have it) or as JSON lines. Reader and Tail parse both
// back for `ec2sim flows` and its --follow mode.
//
// The behaviour follows AWS's "Flow log records", "Flow log record examples" and "Flow log
// limitations" pages, summarised in §1.6 and §1.10 of shared/reference/aws-semantics.md; where
// the pages contradict each other (start and end: packet times or window bounds) the choice is a
// setting and docs/flow-logs.md says which default was taken and why.
package flowlog
