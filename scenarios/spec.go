package scenarios

// field is one key that a mapping of the scenario format may hold. The decoder rejects every
// other key, and a test walks this table against the JSON schema, so the table is the one list of
// the format's fields.
type field struct {
	name string
	// kind is the value's shape: a scalar kind ("string", "text", "name", "int", "bool",
	// "duration", "cidr", "ip", "proto", "ports", "icmp"), "list:K" or "map:K" of such a kind or of
	// an object kind, or "object:K".
	kind     string
	required bool
}

// Object kinds: the mappings of the format. The JSON schema has a $defs entry of the same name
// for each.
const (
	kScenario   = "scenario"
	kSettings   = "settings"
	kVPC        = "vpc"
	kSubnet     = "subnet"
	kGroup      = "security_group"
	kRule       = "rule"
	kPrefixList = "prefix_list"
	kInstance   = "instance"
	kENI        = "eni"
	kProbe      = "probe"
	kRouteTable = "route_table"
	kRoute      = "route"
	kNACL       = "network_acl"
	kACLEntry   = "acl_entry"
	kConntrack  = "conntrack"
	kConnTrack  = "connection_tracking"
	kInternet   = "internet"
	kHost       = "host"
	kFlowLog    = "flow_log"
	kClock      = "clock"
	kHypervisor = "hypervisor"
	kStep       = "step"
	kHoldStep   = "hold_step"
	kHeldStep   = "held_step"
	kExecStep   = "exec_step"
	kFlowsStep  = "flows_step"
	kAuditStep  = "audit_step"
	kVolume     = "volume"
	kNATGateway = "nat_gateway"
	kPeering    = "peering"
	kOnPrem     = "on_prem"
	kMatrix     = "matrix"
	kSendStep   = "send_step"
	kIntent     = "intent"
)

// formatSpec is the table of every object kind's fields, in the order the documentation lists them.
func formatSpec() map[string][]field {
	return map[string][]field{
		kScenario: {
			{"name", "name", true},
			{"description", "string", false},
			{"settings", "object:" + kSettings, false},
			{"vpcs", "map:" + kVPC, false},
			{"peerings", "map:" + kPeering, false},
			{"on_prem", "map:" + kOnPrem, false},
			{"prefix_lists", "map:" + kPrefixList, false},
			{"instances", "map:" + kInstance, false},
			{"internet", "object:" + kInternet, false},
			{"flow_logs", "map:" + kFlowLog, false},
			{"clock", "object:" + kClock, false},
			{"hypervisor", "object:" + kHypervisor, false},
			{"expect", "list:" + kProbe, false},
			{"matrix", "list:" + kMatrix, false},
			{"steps", "list:" + kStep, false},
			{"intents", "list:" + kIntent, false},
		},
		kIntent: {
			{"name", "name", false},
			{"from", "string", true},
			{"to", "string", true},
			{"allow", "string", false},
			{"deny", "string", false},
			{"description", "string", false},
		},
		kMatrix: {
			{"name", "string", false},
			{"description", "string", false},
			{"from", "list:string", true},
			{"to", "list:string", true},
			{"ports", "list:string", true},
			{"expect", "map:string", false},
			{"allow", "list:string", false},
			{"timeout", "duration", false},
		},
		kStep: {
			{"probe", "object:" + kProbe, false},
			{"hold", "object:" + kHoldStep, false},
			{"held", "object:" + kHeldStep, false},
			{"sg", "string", false},
			{"nacl", "string", false},
			{"route", "string", false},
			{"set", "string", false},
			{"exec", "object:" + kExecStep, false},
			{"flows", "object:" + kFlowsStep, false},
			{"wait", "duration", false},
			{"matrix", "object:" + kMatrix, false},
			{"send", "object:" + kSendStep, false},
			{"instance", "string", false},
			{"audit", "object:" + kAuditStep, false},
			{"description", "string", false},
		},
		kSendStep: {
			{"from", "string", true},
			{"to", "string", true},
			{"packet", "string", false},
			{"port", "int", false},
			{"src_ip", "ip", false},
			{"src_mac", "string", false},
			{"arrives", "bool", true},
			{"seen_src", "ip", false},
			{"timeout", "duration", false},
		},
		kAuditStep: {
			{"instance", "string", true},
			{"reuses", "string", false},
			{"verified", "bool", false},
		},
		kVolume: {
			{"device", "string", true},
			{"kind", "string", false},
			{"size", "size", true},
			{"delete_on_termination", "bool", false},
		},
		kHoldStep: {
			{"name", "string", true},
			{"from", "string", true},
			{"to", "string", true},
			{"port", "int", true},
		},
		kHeldStep: {
			{"name", "string", true},
			{"result", "string", true},
		},
		kFlowsStep: {
			{"log", "string", true},
			{"contains", "string", true},
			{"absent", "bool", false},
			{"within", "duration", false},
		},
		kExecStep: {
			{"instance", "string", true},
			{"command", "string", true},
			{"exit_code", "int", false},
			{"output", "string", false},
		},
		kFlowLog: {
			{"resource", "string", true},
			{"traffic", "string", false},
			{"interval", "interval", false},
			{"format", "string", false},
			{"destination", "string", false},
		},
		kClock: {
			{"speed", "number", false},
		},
		kHypervisor: {
			{"scrub", "bool", false},
			{"memory_pool", "size", false},
			{"disk_pool", "size", false},
		},
		kInternet: {
			{"hosts", "map:" + kHost, false},
		},
		// A host is also written as its bare address (client: 203.0.113.10).
		kHost: {
			{"ip", "ip", true},
		},
		kNATGateway: {
			{"subnet", "string", true},
			{"elastic_ip", "ip", false},
			{"private", "bool", false},
		},
		kPeering: {
			{"requester", "name", true},
			{"accepter", "name", true},
		},
		kOnPrem: {
			{"cidr", "cidr", true},
			{"hosts", "map:" + kHost, false},
		},
		kSettings: {
			{"security_groups_per_eni", "int", false},
			{"rules_per_security_group", "int", false},
			{"network_acl_rules_per_direction", "int", false},
			{"conntrack", "object:" + kConntrack, false},
		},
		kConntrack: {
			{"tcp_established_timeout", "int", false},
			{"udp_timeout", "int", false},
			{"udp_stream_timeout", "int", false},
			{"related_icmp", "bool", false},
			{"allowance", "int", false},
		},
		kConnTrack: {
			{"tcp_established_timeout", "int", false},
			{"udp_timeout", "int", false},
			{"udp_stream_timeout", "int", false},
		},
		kVPC: {
			{"cidr", "cidr", true},
			{"subnets", "map:" + kSubnet, false},
			{"security_groups", "map:" + kGroup, false},
			{"internet_gateway", "bool", false},
			{"vpn_gateway", "name", false},
			{"nat_gateways", "map:" + kNATGateway, false},
			{"route_tables", "map:" + kRouteTable, false},
			{"network_acls", "map:" + kNACL, false},
		},
		kSubnet: {
			{"cidr", "cidr", true},
			{"route_table", "name", false},
			{"network_acl", "name", false},
			{"map_public_ip_on_launch", "bool", false},
		},
		kRouteTable: {
			{"main", "bool", false},
			{"routes", "list:" + kRoute, false},
		},
		kRoute: {
			{"destination", "cidr", true},
			{"target", "string", true},
		},
		kNACL: {
			{"ingress", "list:" + kACLEntry, false},
			{"egress", "list:" + kACLEntry, false},
		},
		kACLEntry: {
			{"rule", "int", true},
			{"action", "string", true},
			{"proto", "proto", true},
			{"ports", "ports", false},
			{"icmp_type", "icmp", false},
			{"icmp_code", "icmp", false},
			{"cidr", "cidr", true},
		},
		kGroup: {
			{"description", "string", false},
			{"ingress", "list:" + kRule, false},
			{"egress", "list:" + kRule, false},
		},
		kRule: {
			{"proto", "proto", true},
			{"ports", "ports", false},
			{"icmp_type", "icmp", false},
			{"icmp_code", "icmp", false},
			{"cidr", "cidr", false},
			{"group", "name", false},
			{"prefix_list", "name", false},
			{"description", "string", false},
		},
		kPrefixList: {
			{"entries", "list:cidr", true},
			{"max_entries", "int", false},
		},
		kInstance: {
			{"type", "string", false},
			{"user_data", "text", false},
			{"enis", "list:" + kENI, false},
			// The eth0 shorthand: the same fields as an ENI, for a single-ENI instance.
			{"subnet", "string", false},
			{"ip", "ip", false},
			{"secondary_ips", "list:ip", false},
			{"source_dest_check", "bool", false},
			{"security_groups", "list:name", false},
			{"connection_tracking", "object:" + kConnTrack, false},
			{"public_ip", "bool", false},
			{"elastic_ip", "ip", false},
			{"state", "string", false},
			{"volumes", "list:" + kVolume, false},
		},
		kENI: {
			{"subnet", "string", true},
			{"ip", "ip", false},
			{"secondary_ips", "list:ip", false},
			{"source_dest_check", "bool", false},
			{"security_groups", "list:name", false},
			{"connection_tracking", "object:" + kConnTrack, false},
			{"public_ip", "bool", false},
			{"elastic_ip", "ip", false},
			{"description", "string", false},
		},
		kProbe: {
			{"from", "string", true},
			{"to", "string", true},
			{"proto", "string", true},
			{"port", "int", false},
			{"result", "string", true},
			{"timeout", "duration", false},
			{"description", "string", false},
		},
	}
}

// isENIShorthand reports whether an instance field describes eth0 (the instance has no enis: list).
func isENIShorthand(name string) bool {
	switch name {
	case "subnet", "ip", "secondary_ips", "source_dest_check", "security_groups", "connection_tracking", "public_ip", "elastic_ip":
		return true
	}
	return false
}
