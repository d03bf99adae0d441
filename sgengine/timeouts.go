package sgengine

import (
	"fmt"
	"time"
)

// Timeouts are the idle timeouts of tracked flows on one ENI: an entry that sees no packet
// for this long is gone. A zero field takes its default. The first three are AWS's
// ConnectionTrackingSpecification with its ranges; the others are not documented by AWS and
// default to what Linux conntrack uses.
type Timeouts struct {
	// TCPEstablished: default 432000 s (5 days), range 60-432000 s. Nitro v6 instance types
	// default to 350 s in AWS; set it explicitly to emulate them.
	TCPEstablished time.Duration
	// UDP: a flow seen in one direction or with one request-response; default 30 s, range 30-60 s.
	UDP time.Duration
	// UDPStream: a flow with more than one request-response; default 180 s, range 60-180 s.
	UDPStream time.Duration
	// Other: protocols other than TCP, UDP and ICMP; default 600 s (documented by AWS, not
	// configurable there), range 1-432000 s.
	Other time.Duration
	// ICMP: echo and the other request/reply pairs; default 30 s, range 1-432000 s. [U]
	ICMP time.Duration
	// TCPSyn: a TCP flow before its handshake completes; default 120 s, range 1-432000 s. [U]
	TCPSyn time.Duration
	// TCPClosing: a TCP flow after a FIN; default 120 s, range 1-432000 s. [U]
	TCPClosing time.Duration
}

// DefaultTimeouts returns the defaults of every field.
func DefaultTimeouts() Timeouts {
	return Timeouts{
		TCPEstablished: 432000 * time.Second,
		UDP:            30 * time.Second,
		UDPStream:      180 * time.Second,
		Other:          600 * time.Second,
		ICMP:           30 * time.Second,
		TCPSyn:         120 * time.Second,
		TCPClosing:     120 * time.Second,
	}
}

// WithDefaults returns t with every zero field set to its default.
func (t Timeouts) WithDefaults() Timeouts {
	d := DefaultTimeouts()
	for i, f := range t.fields() {
		if *f.v == 0 {
			*f.v = *d.fields()[i].v
		}
	}
	return t
}

type timeoutField struct {
	name     string
	v        *time.Duration
	min, max time.Duration
}

func (t *Timeouts) fields() [7]timeoutField {
	const long = 432000 * time.Second
	return [7]timeoutField{
		{"TCPEstablished", &t.TCPEstablished, 60 * time.Second, long},
		{"UDP", &t.UDP, 30 * time.Second, 60 * time.Second},
		{"UDPStream", &t.UDPStream, 60 * time.Second, 180 * time.Second},
		{"Other", &t.Other, time.Second, long},
		{"ICMP", &t.ICMP, time.Second, long},
		{"TCPSyn", &t.TCPSyn, time.Second, long},
		{"TCPClosing", &t.TCPClosing, time.Second, long},
	}
}

// Validate reports the first field outside its range. Zero fields are valid: they mean the
// default.
func (t Timeouts) Validate() error {
	for _, f := range t.fields() {
		v := *f.v
		if v != 0 && (v < f.min || v > f.max) {
			return fmt.Errorf("timeout %s = %v is out of range; want %v to %v (or 0 for the default)",
				f.name, v, f.min, f.max)
		}
	}
	return nil
}
