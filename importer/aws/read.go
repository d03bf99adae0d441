package awsimport

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Source is where an object was read: the file and, from the folder layout, its account and
// region ("" when the layout does not say).
type Source struct {
	File            string
	Account, Region string
	// Line is where the object starts in File; 0 for the file as a whole.
	Line int
}

// String names the place as file:line, or the file.
func (s Source) String() string {
	if s.Line > 0 {
		return fmt.Sprintf("%s:%d", s.File, s.Line)
	}
	return s.File
}

// item is one object of a describe call, with where it came from and its raw JSON (for the
// report of the fields that are not modelled).
type item[T any] struct {
	src Source
	v   T
	raw json.RawMessage
}

// Snapshot is everything read from a folder of describe-* output, before conversion.
type Snapshot struct {
	Files   []string // the JSON files read, in order
	Ignored []string // other files, not read

	vpcs      []item[awsVPC]
	subnets   []item[awsSubnet]
	tables    []item[awsRouteTable]
	igws      []item[awsInternetGateway]
	vgws      []item[awsVPNGateway]
	vpns      []item[awsVPNConnection]
	nats      []item[awsNATGateway]
	peerings  []item[awsPeering]
	prefixes  []item[awsPrefixList]
	groups    []item[awsSecurityGroup]
	acls      []item[awsNetworkACL]
	instances []item[awsInstance]
	enis      []item[awsENI]
	addresses []item[awsAddress]
	// reservations are the Reservations objects around the instances, for the report.
	reservations []json.RawMessage

	// unhandled counts the objects under top-level keys the importer does not read.
	unhandled map[string]int
	// truncated lists the files whose output has a NextToken: a paginated call of which only
	// one page was saved.
	truncated []string
	// seen holds every object read, by key and content, so that an object saved twice (the
	// same call in two files) is read once; duplicates counts those.
	seen       map[string]bool
	duplicates int
}

// Load reads every *.json file under dir: one describe call's output per file, dispatched on its
// top-level key (Vpcs, Subnets, ...), never on the file name. The folder may be flat, one folder
// per region (dir/REGION/*.json) or per account and region (dir/accounts/ID/REGION/*.json).
// Malformed JSON is an error naming file:line:col.
func Load(dir string) (*Snapshot, error) {
	s := &Snapshot{unhandled: map[string]int{}}
	var paths []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		if strings.HasSuffix(p, ".json") {
			paths = append(paths, p)
		} else {
			s.Ignored = append(s.Ignored, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(paths)
	if len(paths) == 0 {
		return nil, fmt.Errorf("%s: no *.json files; want the output of aws ec2 describe-* calls, one call per file", dir)
	}
	var errs []error
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		rel, _ := filepath.Rel(dir, filepath.Dir(p))
		src := Source{File: p}
		if rel != "." {
			parts := strings.Split(filepath.ToSlash(rel), "/")
			if parts[0] == "accounts" && len(parts) >= 2 {
				src.Account = parts[1]
				if len(parts) >= 3 {
					src.Region = parts[2]
				}
			} else {
				src.Region = parts[len(parts)-1]
			}
		}
		if err := s.add(src, data); err != nil {
			errs = append(errs, err)
		}
		s.Files = append(s.Files, p)
	}
	return s, errors.Join(errs...)
}

// Add reads one file's content (for tests and fuzzing: Load calls it for every file).
func (s *Snapshot) Add(file string, data []byte) error {
	if s.unhandled == nil {
		s.unhandled = map[string]int{}
	}
	s.Files = append(s.Files, file)
	return s.add(Source{File: file}, data)
}

func (s *Snapshot) add(src Source, data []byte) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		return jsonError(src.File, data, err)
	}
	if top == nil {
		return fmt.Errorf("%s:1:1: want a JSON object such as {\"Vpcs\": [...]}, the output of one aws ec2 describe-* call", src.File)
	}
	keys := make([]string, 0, len(top))
	for k := range top {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var errs []error
	for _, k := range keys {
		raw := top[k]
		var err error
		switch k {
		case "Vpcs":
			err = decodeList(s, src, k, data, raw, &s.vpcs)
		case "Subnets":
			err = decodeList(s, src, k, data, raw, &s.subnets)
		case "RouteTables":
			err = decodeList(s, src, k, data, raw, &s.tables)
		case "InternetGateways":
			err = decodeList(s, src, k, data, raw, &s.igws)
		case "VpnGateways":
			err = decodeList(s, src, k, data, raw, &s.vgws)
		case "VpnConnections":
			err = decodeList(s, src, k, data, raw, &s.vpns)
		case "NatGateways":
			err = decodeList(s, src, k, data, raw, &s.nats)
		case "VpcPeeringConnections":
			err = decodeList(s, src, k, data, raw, &s.peerings)
		case "PrefixLists", "ManagedPrefixLists":
			err = decodeList(s, src, k, data, raw, &s.prefixes)
		case "SecurityGroups":
			err = decodeList(s, src, k, data, raw, &s.groups)
		case "NetworkAcls":
			err = decodeList(s, src, k, data, raw, &s.acls)
		case "NetworkInterfaces":
			err = decodeList(s, src, k, data, raw, &s.enis)
		case "Addresses":
			err = decodeList(s, src, k, data, raw, &s.addresses)
		case "Instances":
			err = decodeList(s, src, k, data, raw, &s.instances)
		case "Reservations":
			var rs []item[awsReservation]
			if err = decodeList(s, src, k, data, raw, &rs); err == nil {
				cursor := 0
				for _, r := range rs {
					s.reservations = append(s.reservations, r.raw)
					for _, in := range r.v.Instances {
						at := src
						at.Line, cursor = lineOf(data, in, cursor)
						var v awsInstance
						if e := json.Unmarshal(in, &v); e != nil {
							err = typeError(src.File, data, in, "Reservations: Instances", e)
							break
						}
						if s.once("Instances", in) {
							s.instances = append(s.instances, item[awsInstance]{src: at, v: v, raw: in})
						}
					}
				}
			}
		case "NextToken":
			s.truncated = append(s.truncated, src.File)
		default:
			var list []json.RawMessage
			if json.Unmarshal(raw, &list) == nil {
				s.unhandled[k] += len(list)
			} else {
				s.unhandled[k]++
			}
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// decodeList decodes one top-level list into items.
func decodeList[T any](s *Snapshot, src Source, key string, file, raw json.RawMessage, into *[]item[T]) error {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return typeError(src.File, file, raw, key, err)
	}
	cursor := 0
	for i, r := range list {
		var v T
		if err := json.Unmarshal(r, &v); err != nil {
			return typeError(src.File, file, r, fmt.Sprintf("%s[%d]", key, i), err)
		}
		at := src
		at.Line, cursor = lineOf(file, r, cursor)
		if s.once(key, r) {
			*into = append(*into, item[T]{src: at, v: v, raw: r})
		}
	}
	return nil
}

// lineOf finds the object raw in file at or after the byte offset from (objects come in file
// order) and returns its line and the offset after it; line 0 when it is not found.
func lineOf(file, raw []byte, from int) (int, int) {
	i := bytes.Index(file[min(from, len(file)):], raw)
	if i < 0 {
		return 0, from
	}
	line, _ := lineCol(file, int64(from+i))
	return line, from + i + len(raw)
}

// once reports whether this is the first time the object is read; a second, identical copy is
// counted in duplicates instead.
func (s *Snapshot) once(key string, raw json.RawMessage) bool {
	if s.seen == nil {
		s.seen = map[string]bool{}
	}
	var compact bytes.Buffer
	if json.Compact(&compact, raw) != nil {
		return true
	}
	k := key + "\x00" + compact.String()
	if s.seen[k] {
		s.duplicates++
		return false
	}
	s.seen[k] = true
	return true
}

// typeError names the place in file of a decoding error inside sub (a part of file's content)
// as file:line:col, with the object (what) and the value that was wrong.
func typeError(name string, file, sub []byte, what string, err error) error {
	base := int64(bytes.Index(file, sub))
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && base >= 0 {
		line, col := lineCol(file, base+te.Offset)
		field := te.Field
		if field == "" {
			field = "the value"
		}
		return fmt.Errorf("%s:%d:%d: %s: %s is a JSON %s; want %s", name, line, col, what, field, te.Value, jsonKind(te.Type.String()))
	}
	line, col := lineCol(file, max(base, 0))
	return fmt.Errorf("%s:%d:%d: %s: %v", name, line, col, what, err)
}

// jsonKind names a Go type the way the JSON reads it.
func jsonKind(goType string) string {
	switch {
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case goType == "string":
		return "a string"
	case goType == "bool" || goType == "*bool":
		return "true or false"
	case strings.Contains(goType, "int"):
		return "a number"
	}
	return "an object"
}

// jsonError names the place of a syntax or type error as file:line:col.
func jsonError(file string, data []byte, err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		line, col := lineCol(data, se.Offset)
		return fmt.Errorf("%s:%d:%d: malformed JSON: %v", file, line, col, se)
	case errors.As(err, &te):
		line, col := lineCol(data, te.Offset)
		return fmt.Errorf("%s:%d:%d: want a JSON object such as {\"Vpcs\": [...]} (the output of one aws ec2 describe-* call), not a JSON %s", file, line, col, te.Value)
	}
	return fmt.Errorf("%s: %v", file, err)
}

// lineCol converts a byte offset (json's, which points just past the bad byte) to line:col.
func lineCol(data []byte, off int64) (int, int) {
	off = min(max(off, 0), int64(len(data)))
	before := data[:off]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(off) - bytes.LastIndexByte(before, '\n') - 1
	return line, max(col, 1)
}

// Modelled fields of each object kind; every other non-empty field is counted in the report.
var modelled = map[string][]string{
	"Vpcs":                               {"VpcId", "CidrBlock", "CidrBlockAssociationSet", "Tags", "State"},
	"Subnets":                            {"SubnetId", "VpcId", "CidrBlock", "MapPublicIpOnLaunch", "Tags", "State"},
	"RouteTables":                        {"RouteTableId", "VpcId", "Associations", "Routes", "Tags"},
	"RouteTables.Routes":                 {"DestinationCidrBlock", "GatewayId", "NatGatewayId", "InstanceId", "NetworkInterfaceId", "VpcPeeringConnectionId", "State", "Origin", "InstanceOwnerId"},
	"InternetGateways":                   {"InternetGatewayId", "Attachments", "Tags"},
	"VpnGateways":                        {"VpnGatewayId", "VpcAttachments", "State", "Tags"},
	"VpnConnections":                     {"VpnConnectionId", "VpnGatewayId", "Routes", "State", "Tags"},
	"NatGateways":                        {"NatGatewayId", "VpcId", "SubnetId", "State", "ConnectivityType", "NatGatewayAddresses", "Tags"},
	"VpcPeeringConnections":              {"VpcPeeringConnectionId", "RequesterVpcInfo", "AccepterVpcInfo", "Status", "Tags"},
	"PrefixLists":                        {"PrefixListId", "PrefixListName", "Cidrs", "Entries", "MaxEntries", "AddressFamily", "State", "Tags"},
	"SecurityGroups.IpPermissions":       {"IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"},
	"SecurityGroups.IpPermissionsEgress": {"IpProtocol", "FromPort", "ToPort", "IpRanges", "Ipv6Ranges", "PrefixListIds", "UserIdGroupPairs"},
	"Reservations":                       {"Instances"},
	"SecurityGroups":                     {"GroupId", "GroupName", "Description", "VpcId", "IpPermissions", "IpPermissionsEgress", "Tags"},
	"NetworkAcls":                        {"NetworkAclId", "VpcId", "IsDefault", "Associations", "Entries", "Tags"},
	"NetworkAcls.Entries":                {"RuleNumber", "Protocol", "RuleAction", "Egress", "CidrBlock", "Ipv6CidrBlock", "PortRange", "IcmpTypeCode"},
	"NetworkInterfaces":                  {"NetworkInterfaceId", "SubnetId", "VpcId", "InterfaceType", "Description", "PrivateIpAddress", "PrivateIpAddresses", "SourceDestCheck", "Groups", "Association", "Attachment", "TagSet", "Status"},
	"Instances.NetworkInterfaces":        {"NetworkInterfaceId", "SubnetId", "VpcId", "InterfaceType", "Description", "PrivateIpAddress", "PrivateIpAddresses", "SourceDestCheck", "Groups", "Association", "Attachment", "TagSet", "Status"},
	"Instances":                          {"InstanceId", "InstanceType", "SubnetId", "VpcId", "PrivateIpAddress", "PublicIpAddress", "SourceDestCheck", "NetworkInterfaces", "SecurityGroups", "State", "Tags"},
	"Addresses":                          {"PublicIp", "AllocationId", "AssociationId", "InstanceId", "NetworkInterfaceId", "PrivateIpAddress", "Domain", "Tags", "NetworkInterfaceOwnerId", "PublicIpv4Pool", "NetworkBorderGroup"},
}

// unmodelledFields counts the non-empty fields of raw that kind does not model into counts,
// as "Kind.Field". Tags other than Name are counted as "Kind.Tags (other than Name)".
func unmodelledFields(counts map[string]int, kind string, raw json.RawMessage) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return
	}
	known := modelled[kind]
	for k, v := range obj {
		if k == "Tags" || k == "TagSet" {
			var tags []tag
			_ = json.Unmarshal(v, &tags)
			for _, t := range tags {
				if t.Key != "Name" {
					counts[kind+".Tags (other than Name)"]++
					break
				}
			}
			continue
		}
		if slices.Contains(known, k) || empty(v) {
			continue
		}
		counts[kind+"."+k]++
	}
}

// empty reports whether a JSON value carries nothing: null, "", [], {} or false.
func empty(v json.RawMessage) bool {
	switch string(bytes.TrimSpace(v)) {
	case "null", `""`, "[]", "{}", "false":
		return true
	}
	t := bytes.TrimSpace(v)
	return len(t) >= 2 && (t[0] == '[' || t[0] == '{') && len(bytes.TrimSpace(t[1:len(t)-1])) == 0
}

// nestedFields counts the unmodelled fields of each object in raw's list under key, as
// "Kind.Key.Field".
func nestedFields(counts map[string]int, kind, key string, raw json.RawMessage) {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return
	}
	var list []json.RawMessage
	if json.Unmarshal(obj[key], &list) != nil {
		return
	}
	for _, r := range list {
		unmodelledFields(counts, kind+"."+key, r)
	}
}
