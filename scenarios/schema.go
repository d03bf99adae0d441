package scenarios

import _ "embed"

//go:embed schema/ec2sim-scenario.schema.json
var schemaJSON string

// Schema returns the JSON schema (draft 2020-12) of the scenario format, for editors and for
// checking files with other tools. A test keeps it and the decoder in agreement. The loader checks
// more than the schema can say: containment of CIDRs, reserved addresses, references, quotas.
func Schema() []byte { return []byte(schemaJSON) }
