package flowlog

import (
	"errors"
	"fmt"
	"time"
)

// Log is one flow log at work: its configuration, its aggregator and its sink. The engine keeps
// one per configured flow log, calls Record for every packet on an ENI the log covers, and Tick
// from its clock (every second is plenty).
type Log struct {
	cfg    Config
	format Format
	agg    *Aggregator
	sink   Sink
}

// Open validates cfg and opens its destination file.
func Open(cfg Config, clock func() time.Time) (*Log, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := cfg.Format()
	if err != nil {
		return nil, err
	}
	sink, err := CreateFileSink(cfg.Destination.Path, f, cfg.Destination.Encoding)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.name(), err)
	}
	l, err := NewLog(cfg, sink, clock)
	if err != nil {
		sink.Close()
		return nil, err
	}
	return l, nil
}

// NewLog makes a log that writes to sink instead of cfg's destination (tests, other outputs);
// cfg's destination is not checked.
func NewLog(cfg Config, sink Sink, clock func() time.Time) (*Log, error) {
	if cfg.Destination.Path == "" {
		cfg.Destination.Path = "(sink)"
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	f, err := cfg.Format()
	if err != nil {
		return nil, err
	}
	agg, err := NewAggregator(cfg.AggregatorOptions(clock))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cfg.name(), err)
	}
	return &Log{cfg: cfg, format: f, agg: agg, sink: sink}, nil
}

// Config is the log's configuration.
func (l *Log) Config() Config { return l.cfg }

// Format is the log's record format.
func (l *Log) Format() Format { return l.format }

// Covers reports whether the log records traffic on e.
func (l *Log) Covers(e *ENI) bool { return l.cfg.Covers(e) }

// Watch starts NODATA reporting for e if the log covers it; the engine calls it for each ENI
// when the log is created and when an ENI appears.
func (l *Log) Watch(e *ENI) {
	if l.cfg.Covers(e) {
		l.agg.Watch(e)
	}
}

// Unwatch stops NODATA reporting for an ENI that went away.
func (l *Log) Unwatch(interfaceID string) { l.agg.Unwatch(interfaceID) }

// Record counts one observation if the log covers its ENI.
func (l *Log) Record(o *Observation) Outcome {
	if o.ENI == nil {
		return Invalid
	}
	if !l.cfg.Covers(o.ENI) {
		return NotCovered
	}
	return l.agg.Record(o)
}

// Tick writes the records of the windows that ended by now.
func (l *Log) Tick(now time.Time) error {
	return l.sink.Write(l.agg.Tick(now))
}

// Close writes what is left, the current window included, and closes the sink.
func (l *Log) Close(now time.Time) error {
	return errors.Join(l.sink.Write(l.agg.Close(now)), l.sink.Close())
}
