package flowlog

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// AppendText appends r as one line in format f (without the newline): the values separated by
// single spaces, "-" where a field does not apply. The version field is the format's version,
// whatever r.Version says. It does not allocate when dst has room.
func (f Format) AppendText(dst []byte, r *Record) []byte {
	for i, fl := range f.fields[:f.n] {
		if i > 0 {
			dst = append(dst, ' ')
		}
		dst = f.appendValue(dst, fl, r)
	}
	return dst
}

// appendValue appends one field's value in its text form; JSON uses the same text for strings.
func (f Format) appendValue(dst []byte, fl Field, r *Record) []byte {
	if fl == FieldVersion {
		// The version belongs to the format, not to the record: always the format's.
		return strconv.AppendInt(dst, int64(f.version), 10)
	}
	if r.Unset.Has(fl) {
		return append(dst, '-')
	}
	switch fl {
	case FieldAccountID:
		return appendString(dst, r.AccountID)
	case FieldInterfaceID:
		return appendString(dst, r.InterfaceID)
	case FieldSrcAddr:
		return appendAddr(dst, r.SrcAddr)
	case FieldDstAddr:
		return appendAddr(dst, r.DstAddr)
	case FieldSrcPort:
		return strconv.AppendUint(dst, uint64(r.SrcPort), 10)
	case FieldDstPort:
		return strconv.AppendUint(dst, uint64(r.DstPort), 10)
	case FieldProtocol:
		return strconv.AppendUint(dst, uint64(r.Protocol), 10)
	case FieldPackets:
		return strconv.AppendInt(dst, r.Packets, 10)
	case FieldBytes:
		return strconv.AppendInt(dst, r.Bytes, 10)
	case FieldStart:
		return strconv.AppendInt(dst, r.Start, 10)
	case FieldEnd:
		return strconv.AppendInt(dst, r.End, 10)
	case FieldAction:
		return append(dst, r.Action.String()...)
	case FieldLogStatus:
		return append(dst, r.LogStatus.String()...)
	case FieldVPCID:
		return appendString(dst, r.VPCID)
	case FieldSubnetID:
		return appendString(dst, r.SubnetID)
	case FieldInstanceID:
		return appendString(dst, r.InstanceID)
	case FieldTCPFlags:
		return strconv.AppendUint(dst, uint64(r.TCPFlags), 10)
	case FieldType:
		return append(dst, r.Type.String()...)
	case FieldPktSrcAddr:
		return appendAddr(dst, r.PktSrcAddr)
	case FieldPktDstAddr:
		return appendAddr(dst, r.PktDstAddr)
	case FieldRegion:
		return appendString(dst, r.Region)
	case FieldAZID:
		return appendString(dst, r.AZID)
	case FieldSublocationType:
		return appendString(dst, r.SublocationType)
	case FieldSublocationID:
		return appendString(dst, r.SublocationID)
	case FieldPktSrcAWSService:
		return appendString(dst, r.PktSrcAWSService)
	case FieldPktDstAWSService:
		return appendString(dst, r.PktDstAWSService)
	case FieldFlowDirection:
		return append(dst, r.FlowDirection.String()...)
	case FieldTrafficPath:
		if r.TrafficPath == PathNone {
			return append(dst, '-')
		}
		return strconv.AppendUint(dst, uint64(r.TrafficPath), 10)
	}
	return append(dst, '-')
}

func appendString(dst []byte, s string) []byte {
	if s == "" {
		return append(dst, '-')
	}
	return append(dst, s...)
}

func appendAddr(dst []byte, a netip.Addr) []byte {
	if !a.IsValid() {
		return append(dst, '-')
	}
	return a.AppendTo(dst)
}

// numericFields are the fields whose "-" must be remembered in Record.Unset.
const numericFields FieldSet = 1<<FieldVersion | 1<<FieldSrcPort | 1<<FieldDstPort |
	1<<FieldProtocol | 1<<FieldPackets | 1<<FieldBytes | 1<<FieldStart | 1<<FieldEnd |
	1<<FieldTCPFlags

// ParseRecord reads one line written in format f. Values are separated by runs of spaces or tabs
// (one of AWS's own examples has a double space). Fields the format lacks are left zero and
// their numeric ones are marked Unset, so that the record prints "-" for them in another format.
func ParseRecord(f Format, line string) (Record, error) {
	if !utf8.ValidString(line) {
		return Record{}, fmt.Errorf("record is not valid UTF-8 text: %q", line)
	}
	var r Record
	r.Unset = unsetOutside(f)
	i := 0
	for tok := range strings.FieldsSeq(line) {
		if i >= int(f.n) {
			return Record{}, fmt.Errorf("record has more than the format's %d fields (%s): %q", f.n, f.Header(), line)
		}
		if err := r.set(f.fields[i], tok); err != nil {
			return Record{}, err
		}
		i++
	}
	if i != int(f.n) {
		return Record{}, fmt.Errorf("record has %d fields, the format has %d (%s): %q", i, f.n, f.Header(), line)
	}
	return r, nil
}

// unsetOutside marks the numeric fields that f does not carry.
func unsetOutside(f Format) FieldSet {
	var in FieldSet
	for _, fl := range f.fields[:f.n] {
		in = in.With(fl)
	}
	return numericFields &^ in
}

// set stores one field's text value; "-" means "does not apply".
func (r *Record) set(fl Field, tok string) error {
	dash := tok == "-"
	if dash && numericFields.Has(fl) {
		r.Unset = r.Unset.With(fl)
		return nil
	}
	var err error
	str := func(dst *string) {
		if !dash {
			*dst = tok
		}
	}
	switch fl {
	case FieldVersion:
		var v uint64
		v, err = strconv.ParseUint(tok, 10, 8)
		r.Version = int(v)
	case FieldAccountID:
		str(&r.AccountID)
	case FieldInterfaceID:
		str(&r.InterfaceID)
	case FieldSrcAddr:
		r.SrcAddr, err = parseAddr(tok)
	case FieldDstAddr:
		r.DstAddr, err = parseAddr(tok)
	case FieldSrcPort:
		r.SrcPort, err = parseUint16(tok)
	case FieldDstPort:
		r.DstPort, err = parseUint16(tok)
	case FieldProtocol:
		var v uint64
		v, err = strconv.ParseUint(tok, 10, 8)
		r.Protocol = uint8(v)
	case FieldPackets:
		r.Packets, err = parseCount(tok)
	case FieldBytes:
		r.Bytes, err = parseCount(tok)
	case FieldStart:
		r.Start, err = strconv.ParseInt(tok, 10, 64)
	case FieldEnd:
		r.End, err = strconv.ParseInt(tok, 10, 64)
	case FieldAction:
		r.Action, err = ParseAction(tok)
	case FieldLogStatus:
		r.LogStatus, err = ParseLogStatus(tok)
	case FieldVPCID:
		str(&r.VPCID)
	case FieldSubnetID:
		str(&r.SubnetID)
	case FieldInstanceID:
		str(&r.InstanceID)
	case FieldTCPFlags:
		var v uint64
		v, err = strconv.ParseUint(tok, 10, 8)
		r.TCPFlags = uint8(v)
	case FieldType:
		r.Type, err = ParseAddrType(tok)
	case FieldPktSrcAddr:
		r.PktSrcAddr, err = parseAddr(tok)
	case FieldPktDstAddr:
		r.PktDstAddr, err = parseAddr(tok)
	case FieldRegion:
		str(&r.Region)
	case FieldAZID:
		str(&r.AZID)
	case FieldSublocationType:
		str(&r.SublocationType)
	case FieldSublocationID:
		str(&r.SublocationID)
	case FieldPktSrcAWSService:
		str(&r.PktSrcAWSService)
	case FieldPktDstAWSService:
		str(&r.PktDstAWSService)
	case FieldFlowDirection:
		r.FlowDirection, err = ParseDirection(tok)
	case FieldTrafficPath:
		r.TrafficPath, err = parseTrafficPath(tok)
	default:
		err = fmt.Errorf("not a flow log field")
	}
	if err != nil {
		return fmt.Errorf("field %s: value %q: %w", fl, tok, err)
	}
	return nil
}

func parseAddr(tok string) (netip.Addr, error) {
	if tok == "-" {
		return netip.Addr{}, nil
	}
	a, err := netip.ParseAddr(tok)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("want an IPv4 or IPv6 address or -")
	}
	if a.Zone() != "" {
		return netip.Addr{}, fmt.Errorf("want an address without a zone")
	}
	return a, nil
}

func parseUint16(tok string) (uint16, error) {
	v, err := strconv.ParseUint(tok, 10, 16)
	if err != nil {
		return 0, fmt.Errorf("want a port 0-65535 or -")
	}
	return uint16(v), nil
}

func parseCount(tok string) (int64, error) {
	v, err := strconv.ParseInt(tok, 10, 64)
	if err != nil || v < 0 {
		return 0, fmt.Errorf("want a count 0 or more, or -")
	}
	return v, nil
}

func parseTrafficPath(tok string) (TrafficPath, error) {
	if tok == "-" {
		return PathNone, nil
	}
	v, err := strconv.ParseUint(tok, 10, 8)
	if err != nil || v < 1 || v > uint64(maxTrafficPath) {
		return 0, fmt.Errorf("want 1 to %d or -", maxTrafficPath)
	}
	return TrafficPath(v), nil
}
