package check

import (
	"slices"
	"testing"
)

func TestSourceDestCheck(t *testing.T) {
	for _, c := range []struct {
		name, target, nat, eth0, eth1 string
		want                          []string
	}{
		{"instance target, check on", "instance/nat", "true", "true", "true", []string{"EC2SIM-NET-002 instance nat eth0"}},
		{"instance target, check off", "instance/nat", "false", "true", "true", nil},
		{"eni target, check on", "eni/fw.eth1", "true", "true", "true", []string{"EC2SIM-NET-002 instance fw eth1"}},
		{"eni target, check off", "eni/fw.eth1", "true", "true", "false", nil},
		{"eni target, the other ENI's check off", "eni/fw.eth1", "true", "false", "true", []string{"EC2SIM-NET-002 instance fw eth1", "EC2SIM-NET-003 instance fw eth0"}},
		{"instance target, another instance's check off", "instance/nat", "false", "true", "false", []string{"EC2SIM-NET-003 instance fw eth1"}},
	} {
		src := `
name: sdc
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24, route_table: via}
      b: {cidr: 10.0.2.0/24}
    route_tables:
      via:
        routes:
          - {destination: 192.168.0.0/16, target: ` + c.target + `}
    security_groups:
      default: {ingress: [], egress: []}
instances:
  fw:
    enis:
      - {subnet: main/a, source_dest_check: ` + c.eth0 + `}
      - {subnet: main/b, source_dest_check: ` + c.eth1 + `}
  nat: {subnet: main/b, source_dest_check: ` + c.nat + `}
`
		got := labels(runYAML(t, "sdc.yaml", src), "EC2SIM-NACL-001")
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestNATGatewayPlacement(t *testing.T) {
	for _, c := range []struct {
		name, nat string
		want      []string
	}{
		{"public NAT gateway in the public subnet", "{subnet: pub}", nil},
		{"public NAT gateway in the private subnet", "{subnet: priv}", []string{"EC2SIM-NET-004 NAT gateway main/nat"}},
		{"private NAT gateway in the private subnet", "{subnet: priv, private: true}", nil},
	} {
		src := `
name: nat
vpcs:
  main:
    cidr: 10.0.0.0/16
    internet_gateway: true
    subnets:
      pub: {cidr: 10.0.1.0/24, route_table: public}
      priv: {cidr: 10.0.2.0/24}
    nat_gateways:
      nat: ` + c.nat + `
    route_tables:
      public:
        routes:
          - {destination: 0.0.0.0/0, target: igw}
    security_groups:
      default: {ingress: [], egress: []}
`
		got := labels(runYAML(t, "nat.yaml", src), "EC2SIM-NACL-001")
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}
