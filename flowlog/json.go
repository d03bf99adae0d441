package flowlog

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// AppendJSON appends r as one JSON object in format f (without the newline): the keys are the
// field names in the format's order, numeric fields are numbers, the others strings, and a
// field that would print "-" is null.
func (f Format) AppendJSON(dst []byte, r *Record) []byte {
	dst = append(dst, '{')
	for i, fl := range f.fields[:f.n] {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = append(dst, '"')
		dst = append(dst, fl.String()...)
		dst = append(dst, '"', ':')
		start := len(dst)
		if numericFields.Has(fl) || fl == FieldTrafficPath {
			dst = f.appendValue(dst, fl, r)
			if string(dst[start:]) == "-" {
				dst = append(dst[:start], "null"...)
			}
			continue
		}
		dst = append(dst, '"')
		dst = f.appendValue(dst, fl, r)
		v := dst[start+1:]
		switch {
		case string(v) == "-":
			dst = append(dst[:start], "null"...)
		case needsEscape(v):
			dst = appendJSONString(dst[:start], string(v))
		default:
			dst = append(dst, '"')
		}
	}
	return append(dst, '}')
}

func needsEscape(v []byte) bool { return hasSpecial(v) || !utf8.Valid(v) }

// hasSpecial reports control characters, quotes or backslashes anywhere in v.
func hasSpecial(v []byte) bool {
	for _, b := range v {
		if b < 0x20 || b == '"' || b == '\\' {
			return true
		}
	}
	return false
}

// appendJSONString quotes s for JSON; invalid UTF-8 becomes U+FFFD, as encoding/json does.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	for _, c := range s {
		switch {
		case c == '"' || c == '\\':
			dst = append(dst, '\\', byte(c))
		case c < 0x20:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		default:
			dst = utf8.AppendRune(dst, c)
		}
	}
	return append(dst, '"')
}

// ParseJSONRecord reads one JSON line as AppendJSON writes it and returns the record and the
// format its keys make, in their order. Numbers and strings are both accepted for any field;
// null stands for "-".
func ParseJSONRecord(line string) (Record, Format, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return Record{}, Format{}, fmt.Errorf("JSON record: want an object, got %.40q", line)
	}
	var r Record
	var fields []Field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return Record{}, Format{}, fmt.Errorf("JSON record: %w", err)
		}
		key, _ := t.(string) // object keys are always strings
		fl, err := ParseField(key)
		if err != nil {
			return Record{}, Format{}, fmt.Errorf("JSON record: %w", err)
		}
		t, err = dec.Token()
		if err != nil {
			return Record{}, Format{}, fmt.Errorf("JSON record: field %s: %w", fl, err)
		}
		var tok string
		switch v := t.(type) {
		case nil:
			tok = "-"
		case string:
			tok = v
		case json.Number:
			tok = v.String()
		default:
			return Record{}, Format{}, fmt.Errorf("JSON record: field %s: value %v: want a number, a string or null", fl, t)
		}
		if err := r.set(fl, tok); err != nil {
			return Record{}, Format{}, fmt.Errorf("JSON record: %w", err)
		}
		fields = append(fields, fl)
	}
	if _, err := dec.Token(); err != nil {
		return Record{}, Format{}, fmt.Errorf("JSON record: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return Record{}, Format{}, fmt.Errorf("JSON record: text after the object in %.60q", line)
	}
	f, err := NewFormat(fields...)
	if err != nil {
		return Record{}, Format{}, fmt.Errorf("JSON record: %w", err)
	}
	r.Unset |= unsetOutside(f)
	return r, f, nil
}
