package flowlog

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// TrafficType is which traffic a flow log captures, as AWS's API spells it.
type TrafficType string

const (
	TrafficAccept TrafficType = "ACCEPT"
	TrafficReject TrafficType = "REJECT"
	TrafficAll    TrafficType = "ALL"
)

// normalize returns ALL for "" and rejects anything else that is not a traffic type.
func (t TrafficType) normalize() (TrafficType, error) {
	switch t {
	case "":
		return TrafficAll, nil
	case TrafficAccept, TrafficReject, TrafficAll:
		return t, nil
	}
	return "", fmt.Errorf("traffic type %q: want ACCEPT, REJECT or ALL", string(t))
}

// ResourceType is what a flow log is created on, as AWS's API spells it.
type ResourceType string

const (
	ResourceVPC    ResourceType = "VPC"
	ResourceSubnet ResourceType = "Subnet"
	ResourceENI    ResourceType = "NetworkInterface"
)

// idPrefix is the AWS ID prefix of the resource type.
func (t ResourceType) idPrefix() string {
	switch t {
	case ResourceVPC:
		return "vpc-"
	case ResourceSubnet:
		return "subnet-"
	case ResourceENI:
		return "eni-"
	}
	return ""
}

// Encoding is how a flow log file is written.
type Encoding string

const (
	// EncodingText is AWS's plain-text format: a header line of field names, then one record
	// per line with values separated by spaces.
	EncodingText Encoding = "text"
	// EncodingJSON is one JSON object per line, keys being field names in the format's order,
	// null where the text would have "-". It is ec2sim's, not AWS's.
	EncodingJSON Encoding = "json"
)

// Destination is where a flow log's records go: one file per log.
type Destination struct {
	Path     string
	Encoding Encoding // "" means text
}

// Config is one flow log, as CreateFlowLogs takes it. As on AWS it is fixed once created: to
// change it, delete the log and create another.
type Config struct {
	ID           string // fl-..., for messages; optional
	ResourceType ResourceType
	ResourceID   string
	TrafficType  TrafficType // "" means ALL
	// MaxAggregationInterval is AWS's setting in seconds, 60 or 600; 0 means AWS's default, 600.
	// ec2sim's instances behave as Nitro instances, whose window is 60 s or less whatever this
	// says, so both values give a 60 s window.
	MaxAggregationInterval int
	// TestAggregationInterval is an ec2sim setting for tests, not an AWS one: a window of 1 to
	// 60 whole seconds, so a test need not wait a minute for its records.
	TestAggregationInterval time.Duration
	// LogFormat is a custom format in AWS's syntax ("${version} ${srcaddr} ..."); "" is the
	// default format.
	LogFormat   string
	Destination Destination

	// Timestamps and MaxFlows are ec2sim settings; see AggregatorOptions.
	Timestamps TimestampMode
	MaxFlows   int
}

// name is how messages refer to the log.
func (c *Config) name() string {
	if c.ID != "" {
		return "flow log " + c.ID
	}
	return fmt.Sprintf("flow log on %s %q", c.ResourceType, c.ResourceID)
}

// Validate reports every problem with the configuration, each naming the bad value and what
// would be valid.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{c.name()}, args...)...))
	}
	switch c.ResourceType {
	case ResourceVPC, ResourceSubnet, ResourceENI:
		if c.ResourceID == "" {
			bad("no resource ID: give the ID of the %s", c.ResourceType)
		} else if p := otherPrefix(c.ResourceType, c.ResourceID); p != "" {
			bad("resource ID %q looks like a %s ID but the resource type is %s", c.ResourceID, p, c.ResourceType)
		}
	default:
		bad("resource type %q: want VPC, Subnet or NetworkInterface", string(c.ResourceType))
	}
	if _, err := c.TrafficType.normalize(); err != nil {
		bad("%v", err)
	}
	switch c.MaxAggregationInterval {
	case 0, 60, 600:
	default:
		bad("max aggregation interval %d s: want 60 or 600", c.MaxAggregationInterval)
	}
	if t := c.TestAggregationInterval; t != 0 && (t < time.Second || t > time.Minute || t%time.Second != 0) {
		bad("test aggregation interval %v: want whole seconds from 1s to 60s (or 0 for the real window)", t)
	}
	if _, err := ParseFormat(c.LogFormat); err != nil {
		bad("%v", err)
	}
	if c.Destination.Path == "" {
		bad("no destination file: give a path")
	}
	switch c.Destination.Encoding {
	case "", EncodingText, EncodingJSON:
	default:
		bad("destination encoding %q: want text or json", string(c.Destination.Encoding))
	}
	if c.Timestamps > WindowBounds {
		bad("timestamp mode %d: want PacketTimes or WindowBounds", c.Timestamps)
	}
	if c.MaxFlows < 0 {
		bad("max flows %d: want 1 or more, or 0 for the default %d", c.MaxFlows, DefaultMaxFlows)
	}
	return errors.Join(errs...)
}

// otherPrefix names the resource type whose ID prefix id carries when that is not t's. IDs
// without an AWS prefix (lab names) pass.
func otherPrefix(t ResourceType, id string) string {
	for _, o := range []ResourceType{ResourceVPC, ResourceSubnet, ResourceENI} {
		if o != t && strings.HasPrefix(id, o.idPrefix()) {
			return string(o)
		}
	}
	return ""
}

// Window is the capture window the log uses: the test interval when set, else 60 s (Nitro).
func (c *Config) Window() time.Duration {
	if c.TestAggregationInterval != 0 {
		return c.TestAggregationInterval
	}
	return DefaultWindow
}

// Format is the log's compiled record format.
func (c *Config) Format() (Format, error) { return ParseFormat(c.LogFormat) }

// Covers reports whether the log records traffic of ENI e: every ENI of the VPC or subnet it
// was created on, or the one ENI.
func (c *Config) Covers(e *ENI) bool {
	switch c.ResourceType {
	case ResourceVPC:
		return e.VPCID == c.ResourceID
	case ResourceSubnet:
		return e.SubnetID == c.ResourceID
	case ResourceENI:
		return e.InterfaceID == c.ResourceID
	}
	return false
}

// AggregatorOptions are the options of the log's aggregator.
func (c *Config) AggregatorOptions(clock func() time.Time) AggregatorOptions {
	return AggregatorOptions{
		Window:      c.Window(),
		TrafficType: c.TrafficType,
		MaxFlows:    c.MaxFlows,
		Timestamps:  c.Timestamps,
		Clock:       clock,
	}
}
