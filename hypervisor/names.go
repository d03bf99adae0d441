package hypervisor

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"
)

const (
	// NetnsDir is where network namespaces are bind-mounted; the same directory `ip netns` uses.
	NetnsDir = "/run/netns"
	// UTSDir holds one directory per lab with one UTS namespace bind mount per instance.
	UTSDir = "/run/ec2sim/uts"
	// NSPrefix starts the name of every network namespace ec2sim makes.
	NSPrefix = "ec2sim-"
	// MaxNSName is the longest namespace name accepted; lab and instance names share it.
	MaxNSName = 64
	// maxHostname is HOST_NAME_MAX on Linux.
	maxHostname = 64
	// maxIfName is IFNAMSIZ less the terminating NUL.
	maxIfName = 15
)

// NSName is the network namespace name of an instance: "ec2sim-<lab>-<instance>".
func NSName(lab, instance string) string { return NSPrefix + lab + "-" + instance }

// NSPath is the bind mount of an instance's network namespace, usable with setns(2) and as
// `ip netns exec NSName(...)`.
func NSPath(lab, instance string) string { return filepath.Join(NetnsDir, NSName(lab, instance)) }

// UTSPath is the bind mount of an instance's UTS namespace.
func UTSPath(lab, instance string) string { return filepath.Join(UTSDir, lab, instance) }

// ValidateNames checks a lab and an instance name: each [a-z0-9][a-z0-9-]*, and together short
// enough that NSName is at most MaxNSName characters.
func ValidateNames(lab, instance string) error {
	if err := validName("lab", lab); err != nil {
		return err
	}
	if err := validName("instance", instance); err != nil {
		return err
	}
	if n := len(NSName(lab, instance)); n > MaxNSName {
		return fmt.Errorf("lab %q with instance %q makes the namespace name %q of %d characters; at most %d are allowed (lab and instance names together at most %d)",
			lab, instance, NSName(lab, instance), n, MaxNSName, MaxNSName-len(NSPrefix)-1)
	}
	return nil
}

// ValidateLab checks a lab name alone: [a-z0-9][a-z0-9-]*, leaving room for an instance name.
func ValidateLab(lab string) error {
	if err := validName("lab", lab); err != nil {
		return err
	}
	if max := MaxNSName - len(NSPrefix) - 2; len(lab) > max {
		return fmt.Errorf("lab name %q has %d characters; at most %d are allowed", lab, len(lab), max)
	}
	return nil
}

// validName checks one name against [a-z0-9][a-z0-9-]*. It is the only gate between a name
// and a path that DestroyLab removes, so it also keeps "..", "/" and the empty string out.
func validName(kind, s string) error {
	if s == "" {
		return fmt.Errorf("%s name is empty; want [a-z0-9][a-z0-9-]*", kind)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' && i > 0
		if !ok {
			return fmt.Errorf("%s name %q: character %q at %d is not allowed; want [a-z0-9][a-z0-9-]*", kind, s, c, i)
		}
	}
	return nil
}

// ValidateHostname checks a host name as sethostname(2) and DNS take it: at most 64
// characters, dot-separated labels of letters, digits and inner hyphens.
func ValidateHostname(h string) error {
	if h == "" || len(h) > maxHostname {
		return fmt.Errorf("host name %q has %d characters; want 1 to %d", h, len(h), maxHostname)
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' || len(label) > 63 {
			return fmt.Errorf("host name %q: label %q must be 1-63 letters, digits or inner hyphens", h, label)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host name %q: character %q is not allowed; want letters, digits, '-' and '.'", h, c)
			}
		}
	}
	return nil
}

// AWSHostname is the host name EC2 gives an instance with primary private address a:
// "ip-10-0-1-23" for 10.0.1.23.
func AWSHostname(a netip.Addr) string {
	if !a.Is4() {
		return ""
	}
	b := a.As4()
	return fmt.Sprintf("ip-%d-%d-%d-%d", b[0], b[1], b[2], b[3])
}

// validIfName checks an ENI's interface name as the kernel takes it (IFNAMSIZ, no '/', ':' or
// whitespace) and keeps "lo", which every namespace already has, out.
func validIfName(s string) error {
	if s == "" || len(s) > maxIfName {
		return fmt.Errorf("interface name %q has %d characters; want 1 to %d", s, len(s), maxIfName)
	}
	if s == "." || s == ".." || s == "lo" {
		return fmt.Errorf("interface name %q is reserved; use a name like eth0 or eth1", s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("interface name %q: character %q is not allowed; want letters, digits, '-', '_' or '.'", s, c)
		}
	}
	return nil
}
