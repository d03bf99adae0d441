package flowlog

import (
	"fmt"
	"strings"
)

// Field is one flow log field. The order of the constants is the order of AWS's "Available
// fields" table, which is also the order of the default format's version 2 fields.
type Field uint8

const (
	fieldInvalid Field = iota

	// Version 2: the default format, in this order.
	FieldVersion
	FieldAccountID
	FieldInterfaceID
	FieldSrcAddr
	FieldDstAddr
	FieldSrcPort
	FieldDstPort
	FieldProtocol
	FieldPackets
	FieldBytes
	FieldStart
	FieldEnd
	FieldAction
	FieldLogStatus

	// Version 3.
	FieldVPCID
	FieldSubnetID
	FieldInstanceID
	FieldTCPFlags
	FieldType
	FieldPktSrcAddr
	FieldPktDstAddr

	// Version 4.
	FieldRegion
	FieldAZID
	FieldSublocationType
	FieldSublocationID

	// Version 5.
	FieldPktSrcAWSService
	FieldPktDstAWSService
	FieldFlowDirection
	FieldTrafficPath

	numFields
)

// NumFields is the number of fields ec2sim knows (versions 2 to 5).
const NumFields = int(numFields) - 1

// fieldTable is read-only: name and version of every field, indexed by Field.
var fieldTable = [numFields]struct {
	name    string
	version uint8
}{
	FieldVersion:          {"version", 2},
	FieldAccountID:        {"account-id", 2},
	FieldInterfaceID:      {"interface-id", 2},
	FieldSrcAddr:          {"srcaddr", 2},
	FieldDstAddr:          {"dstaddr", 2},
	FieldSrcPort:          {"srcport", 2},
	FieldDstPort:          {"dstport", 2},
	FieldProtocol:         {"protocol", 2},
	FieldPackets:          {"packets", 2},
	FieldBytes:            {"bytes", 2},
	FieldStart:            {"start", 2},
	FieldEnd:              {"end", 2},
	FieldAction:           {"action", 2},
	FieldLogStatus:        {"log-status", 2},
	FieldVPCID:            {"vpc-id", 3},
	FieldSubnetID:         {"subnet-id", 3},
	FieldInstanceID:       {"instance-id", 3},
	FieldTCPFlags:         {"tcp-flags", 3},
	FieldType:             {"type", 3},
	FieldPktSrcAddr:       {"pkt-srcaddr", 3},
	FieldPktDstAddr:       {"pkt-dstaddr", 3},
	FieldRegion:           {"region", 4},
	FieldAZID:             {"az-id", 4},
	FieldSublocationType:  {"sublocation-type", 4},
	FieldSublocationID:    {"sublocation-id", 4},
	FieldPktSrcAWSService: {"pkt-src-aws-service", 5},
	FieldPktDstAWSService: {"pkt-dst-aws-service", 5},
	FieldFlowDirection:    {"flow-direction", 5},
	FieldTrafficPath:      {"traffic-path", 5},
}

func (f Field) valid() bool { return f > fieldInvalid && f < numFields }

// String is the field's AWS name, as written in a format ("${srcaddr}") and in a file's header.
func (f Field) String() string {
	if !f.valid() {
		return fmt.Sprintf("field(%d)", uint8(f))
	}
	return fieldTable[f].name
}

// Version is the flow log version that introduced the field.
func (f Field) Version() int {
	if !f.valid() {
		return 0
	}
	return int(fieldTable[f].version)
}

// ParseField finds a field by its AWS name.
func ParseField(name string) (Field, error) {
	if f, ok := lookupField(name); ok {
		return f, nil
	}
	return 0, fmt.Errorf("unknown flow log field %q; valid fields: %s", name, validFieldNames())
}

func lookupField(name string) (Field, bool) {
	for f := FieldVersion; f < numFields; f++ {
		if fieldTable[f].name == name {
			return f, true
		}
	}
	return 0, false
}

func validFieldNames() string {
	var b strings.Builder
	for f := FieldVersion; f < numFields; f++ {
		if f > FieldVersion {
			b.WriteString(" ")
		}
		b.WriteString(fieldTable[f].name)
	}
	return b.String()
}

// AllFields returns every field in AWS's table order.
func AllFields() []Field {
	fs := make([]Field, 0, NumFields)
	for f := FieldVersion; f < numFields; f++ {
		fs = append(fs, f)
	}
	return fs
}

// Format is a compiled record format: which fields, in which order. It is a small comparable
// value; the zero Format has no fields and is not valid (use DefaultFormat).
type Format struct {
	fields  [NumFields]Field
	n       uint8
	version uint8
}

// DefaultFormat is AWS's default format: the version 2 fields in table order,
// "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start
// end action log-status".
func DefaultFormat() Format {
	var f Format
	for fl := FieldVersion; fl <= FieldLogStatus; fl++ {
		f.fields[f.n] = fl
		f.n++
	}
	f.version = 2
	return f
}

// NewFormat builds a format from fields in the order given. It fails on no fields, an unknown
// field or a field given twice.
func NewFormat(fields ...Field) (Format, error) {
	var f Format
	if len(fields) == 0 {
		return f, fmt.Errorf("log format has no fields; give at least one of: %s", validFieldNames())
	}
	var seen FieldSet
	for i, fl := range fields {
		if !fl.valid() {
			return Format{}, fmt.Errorf("log format field %d: %v is not a flow log field; valid fields: %s", i+1, fl, validFieldNames())
		}
		if seen.Has(fl) {
			return Format{}, fmt.Errorf("log format: field %s appears twice", fl)
		}
		seen = seen.With(fl)
		f.fields[f.n] = fl
		f.n++
		f.version = max(f.version, fieldTable[fl].version)
	}
	return f, nil
}

// ParseFormat reads a custom format in AWS's syntax, fields as ${name} separated by spaces:
// "${version} ${vpc-id} ${srcaddr}". The empty string is the default format.
func ParseFormat(s string) (Format, error) {
	if strings.TrimSpace(s) == "" {
		return DefaultFormat(), nil
	}
	var fields []Field
	for tok := range strings.FieldsSeq(s) {
		name, ok := strings.CutPrefix(tok, "${")
		if ok {
			name, ok = strings.CutSuffix(name, "}")
		}
		if !ok || name == "" || strings.ContainsAny(name, "${}") {
			return Format{}, fmt.Errorf("log format: %q is not a field; write each field as ${name} separated by spaces, e.g. ${srcaddr} ${dstaddr}", tok)
		}
		fl, err := ParseField(name)
		if err != nil {
			return Format{}, fmt.Errorf("log format: %w", err)
		}
		fields = append(fields, fl)
	}
	return NewFormat(fields...)
}

// ParseHeader reads a header line of field names separated by spaces, as a flow log file starts:
// "version account-id interface-id ...".
func ParseHeader(line string) (Format, error) {
	var fields []Field
	for tok := range strings.FieldsSeq(line) {
		fl, err := ParseField(tok)
		if err != nil {
			return Format{}, fmt.Errorf("header: %w", err)
		}
		fields = append(fields, fl)
	}
	return NewFormat(fields...)
}

// Fields returns the format's fields in order.
func (f Format) Fields() []Field { return append([]Field(nil), f.fields[:f.n]...) }

// Len is the number of fields.
func (f Format) Len() int { return int(f.n) }

// Version is the value of the version field: the highest version among the chosen fields.
func (f Format) Version() int { return int(f.version) }

// Has reports whether the format includes fl.
func (f Format) Has(fl Field) bool {
	for _, x := range f.fields[:f.n] {
		if x == fl {
			return true
		}
	}
	return false
}

// String is the format in AWS's custom-format syntax.
func (f Format) String() string {
	var b strings.Builder
	for i, fl := range f.fields[:f.n] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString("${")
		b.WriteString(fl.String())
		b.WriteByte('}')
	}
	return b.String()
}

// Header is the header line of a plain-text flow log file: the field names separated by spaces.
func (f Format) Header() string {
	var b strings.Builder
	for i, fl := range f.fields[:f.n] {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(fl.String())
	}
	return b.String()
}
