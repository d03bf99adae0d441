package awsimport

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const goodVPC = `{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}]}`

// Malformed JSON and values of the wrong type are errors naming file:line:col.
func TestMalformedJSON(t *testing.T) {
	for _, c := range []struct{ name, data, want string }{
		{"trailing comma", "{\"Vpcs\": [\n  {\"VpcId\": \"vpc-1\",}\n]}", "bad.json:2:21: malformed JSON"},
		{"truncated", "{\"Vpcs\": [\n", "bad.json:2:1: malformed JSON"},
		{"not an object", "[1, 2]", "bad.json:1:1: want a JSON object"},
		{"wrong type", "{\"Vpcs\": [\n  {\"VpcId\": 5}\n]}", "bad.json:2:13: Vpcs[0]: VpcId is a JSON number; want a string"},
		{"list wanted", "{\"Subnets\": {\"a\": 1}}", "bad.json:1:13: Subnets: the value is a JSON object; want a list"},
		{"null", "null", "bad.json:1:1: want a JSON object"},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := (&Snapshot{}).Add("bad.json", []byte(c.data))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func importStrings(t *testing.T, partial bool, files ...string) (*Report, error) {
	t.Helper()
	snap := &Snapshot{}
	for i, f := range files {
		if err := snap.Add(string(rune('a'+i))+".json", []byte(f)); err != nil {
			t.Fatal(err)
		}
	}
	sc, rep, err := Import(snap, Options{Name: "bad", Partial: partial})
	if err == nil && sc == nil {
		t.Fatal("no error and no scenario")
	}
	if err != nil && sc != nil {
		t.Fatal("an error and a scenario: a failed import must not look complete")
	}
	return rep, err
}

// References to objects not in the data, and overlapping CIDRs, fail the import, naming the file
// and the object; with Partial they become skips that the report lists.
func TestBadReferences(t *testing.T) {
	for _, c := range []struct {
		name  string
		files []string
		want  []string
	}{
		{"subnet of a missing VPC", []string{goodVPC, `{"Subnets": [{"SubnetId": "subnet-9", "VpcId": "vpc-404", "CidrBlock": "10.0.1.0/24"}]}`},
			[]string{"b.json", "subnet subnet-9", "vpc-404 is not in the data"}},
		{"rule naming a missing group", []string{goodVPC, `{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1",
			"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": "sg-404"}]}]}]}`},
			[]string{"b.json", "security group sg-1 ingress rule 1", "group sg-404 is not in the data"}},
		{"rule naming a missing prefix list", []string{goodVPC, `{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1",
			"IpPermissionsEgress": [{"IpProtocol": "-1", "PrefixListIds": [{"PrefixListId": "pl-404"}]}]}]}`},
			[]string{"b.json", "security group sg-1 egress rule 1", "prefix list pl-404 is not in the data"}},
		{"overlapping subnets", []string{goodVPC, `{"Subnets": [
			{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.0.0/20"},
			{"SubnetId": "subnet-2", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}]}`},
			[]string{"b.json", "subnet subnet-2", "overlaps subnet subnet-1 (10.0.0.0/20)"}},
		{"peering overlapping VPCs", []string{`{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}, {"VpcId": "vpc-2", "CidrBlock": "10.0.0.0/16"}]}`,
			`{"VpcPeeringConnections": [{"VpcPeeringConnectionId": "pcx-1", "Status": {"Code": "active"},
			"RequesterVpcInfo": {"VpcId": "vpc-1"}, "AccepterVpcInfo": {"VpcId": "vpc-2"}}]}`},
			[]string{"b.json", "peering connection pcx-1", "overlap"}},
		{"ENI in a missing subnet", []string{goodVPC, `{"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": "running"},
			"NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "SubnetId": "subnet-404", "PrivateIpAddress": "10.0.1.5"}]}]}]}`},
			[]string{"b.json", "network interface eni-1", "subnet-404 is not in the data"}},
		{"route to a missing NAT gateway", []string{goodVPC, `{"RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-1",
			"Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-404", "State": "active"}]}]}`},
			[]string{"b.json", "route table rtb-1 route 1", "NAT gateway nat-404 is not in the data"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := importStrings(t, false, c.files...)
			if err == nil {
				t.Fatal("imported without an error")
			}
			for _, w := range c.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
			rep, err := importStrings(t, true, c.files...)
			if err != nil {
				t.Fatalf("--partial: %v", err)
			}
			if !rep.Partial || !strings.HasPrefix(rep.Text(), "PARTIAL IMPORT") {
				t.Errorf("--partial: the report does not say the import is partial:\n%s", rep.Text())
			}
		})
	}
}

// What is not active is skipped and said: a NAT gateway not available, a peering not active,
// a stopped instance; and a route through the skipped NAT gateway.
func TestInactiveSkipped(t *testing.T) {
	rep, err := importStrings(t, false, `{"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "10.0.0.0/16"}, {"VpcId": "vpc-2", "CidrBlock": "10.1.0.0/16"}]}`,
		`{"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}]}`,
		`{"NatGateways": [{"NatGatewayId": "nat-1", "VpcId": "vpc-1", "SubnetId": "subnet-1", "State": "deleted"}]}`,
		`{"VpcPeeringConnections": [{"VpcPeeringConnectionId": "pcx-1", "Status": {"Code": "pending-acceptance"},
			"RequesterVpcInfo": {"VpcId": "vpc-1"}, "AccepterVpcInfo": {"VpcId": "vpc-2"}}]}`,
		`{"Reservations": [{"Instances": [{"InstanceId": "i-1", "State": {"Name": "stopped"}}]}]}`,
		`{"RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [{"Main": true}],
			"Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "blackhole"},
			           {"DestinationCidrBlock": "10.1.0.0/16", "VpcPeeringConnectionId": "pcx-1", "State": "active"}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	text := rep.Text()
	for _, want := range []string{"NAT gateway nat-1 (c.json:1): state deleted", "peering connection pcx-1 (d.json:1): status pending-acceptance",
		"instance i-1 (e.json:1): state stopped", "route table rtb-1 route 2 (f.json:1): its target peering connection pcx-1 was skipped"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report does not say %q:\n%s", want, text)
		}
	}
}

// The command writes nothing on an error: tested through Load on a folder.
func TestLoadFolderLayouts(t *testing.T) {
	dir := t.TempDir()
	write := func(rel, data string) {
		p := filepath.Join(dir, rel)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("accounts/111122223333/us-east-1/anything.json", goodVPC)
	write("accounts/111122223333/eu-west-1/vpcs.json", `{"Vpcs": [{"VpcId": "vpc-2", "CidrBlock": "10.0.0.0/16", "Tags": [{"Key": "Name", "Value": "Prod VPC!"}]}]}`)
	write("README.txt", "not read")
	snap, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	sc, rep, err := Import(snap, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(sc.VPCs) != 2 || sc.VPC("prod-vpc") == nil || sc.VPC("vpc-1") == nil {
		t.Fatalf("VPCs %v: want prod-vpc and vpc-1", sc.VPCs)
	}
	regions := map[string]bool{}
	for _, n := range rep.Names {
		regions[n.Region] = true
	}
	if !regions["111122223333/us-east-1"] || !regions["111122223333/eu-west-1"] {
		t.Errorf("names do not carry account/region: %v", rep.Names)
	}
	if len(rep.Ignored) != 1 || !strings.Contains(rep.Text(), "README.txt") {
		t.Errorf("the ignored file is not reported: %v", rep.Ignored)
	}
	write("accounts/111122223333/us-east-1/broken.json", "{\"Vpcs\": [}")
	if _, err := Load(dir); err == nil || !strings.Contains(err.Error(), "broken.json:1:11") {
		t.Errorf("Load of a folder with a broken file: %v, want broken.json:1:11", err)
	}
}

// Names: Name tags made valid, clashes resolved with the end of the id, ids that look like
// group ids changed as AWS requires.
func TestNames(t *testing.T) {
	for in, want := range map[string]string{
		"Jump Host": "jump-host", "  --Prod__VPC--  ": "prod-vpc", "ÄÖÜ": "",
		"a-very-long-name-that-goes-on-and-on-forever": "a-very-long-name-that-goes-on-a",
	} {
		if got := sanitize(in); got != want {
			t.Errorf("sanitize(%q) = %q, want %q", in, got, want)
		}
	}
	c := newConverter(&Snapshot{}, Options{}, newMapper())
	a := c.name("s", "instance", "web", "i-0123456789abcdef0", Source{})
	b := c.name("s", "instance", "web", "i-0fedcba987654321f", Source{})
	g := c.name("g", "security group", "", "sg-0123", Source{})
	if a != "web" || b != "web-54321f" || g != "group-0123" {
		t.Errorf("names %q %q %q, want web web-54321f group-0123", a, b, g)
	}
}

// A VPC in public address space is refused: its instances' addresses would be real ones.
func TestPublicVPCRefused(t *testing.T) {
	_, err := importStrings(t, false, `{"Vpcs": [{"VpcId": "vpc-9", "CidrBlock": "54.10.0.0/16"}]}`)
	if err == nil || !strings.Contains(err.Error(), "VPC vpc-9: CIDR 54.10.0.0/16 is public") {
		t.Errorf("error %v, want one refusing the public VPC", err)
	}
}

// A public NAT gateway whose VPC lost its internet gateway is skipped and said, and so is the
// route through it.
func TestPublicNATWithoutIGWSkipped(t *testing.T) {
	rep, err := importStrings(t, false, goodVPC,
		`{"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}]}`,
		`{"NatGateways": [{"NatGatewayId": "nat-1", "VpcId": "vpc-1", "SubnetId": "subnet-1", "State": "available",
			"NatGatewayAddresses": [{"PublicIp": "52.1.2.3"}]}]}`,
		`{"RouteTables": [{"RouteTableId": "rtb-1", "VpcId": "vpc-1", "Associations": [{"Main": true}],
			"Routes": [{"DestinationCidrBlock": "0.0.0.0/0", "NatGatewayId": "nat-1", "State": "active"}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	text := rep.Text()
	for _, want := range []string{"NAT gateway nat-1 (c.json:1): a public NAT gateway in VPC vpc-1, which has no internet gateway", "route table rtb-1 route 1 (d.json:1): its target NAT gateway nat-1 was skipped"} {
		if !strings.Contains(text, want) {
			t.Errorf("the report does not say %q:\n%s", want, text)
		}
	}
}

// A rule naming a group of another account is not modelled (reported), not an error.
func TestCrossAccountGroupReference(t *testing.T) {
	rep, err := importStrings(t, false, goodVPC, `{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1", "OwnerId": "111122223333",
		"IpPermissions": [{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "UserIdGroupPairs": [{"GroupId": "sg-9", "UserId": "444455556666"}]}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Unmodelled["SecurityGroups: rules naming a group of another VPC or account"] != 1 {
		t.Errorf("not reported: %s", rep.Text())
	}
}

// Errors about an object name the line where it starts.
func TestErrorLine(t *testing.T) {
	_, err := importStrings(t, false, goodVPC, "{\"Subnets\": [\n  {\"SubnetId\": \"subnet-1\", \"VpcId\": \"vpc-1\", \"CidrBlock\": \"10.0.1.0/24\"},\n  {\"SubnetId\": \"subnet-2\", \"VpcId\": \"vpc-7\", \"CidrBlock\": \"10.0.2.0/24\"}\n]}")
	if err == nil || !strings.Contains(err.Error(), "b.json:3: subnet subnet-2: VpcId vpc-7 is not in the data") {
		t.Errorf("error %v, want b.json:3: subnet subnet-2: ...", err)
	}
}

// A rule naming part of an on-premises network reached by VPN maps inside that network's block of
// 100.64.0.0/10; a global IPv6 prefix maps into 2001:db8::/32.
func TestOnPremAndIPv6Mapping(t *testing.T) {
	rep, err := importStrings(t, false, goodVPC,
		`{"VpnGateways": [{"VpnGatewayId": "vgw-1", "State": "available", "VpcAttachments": [{"VpcId": "vpc-1", "State": "attached"}]}]}`,
		`{"VpnConnections": [{"VpnConnectionId": "vpn-1", "VpnGatewayId": "vgw-1", "State": "available", "Routes": [{"DestinationCidrBlock": "19.168.0.0/16"}]}]}`,
		`{"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "VpcId": "vpc-1", "IpPermissions": [
			{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "19.168.5.0/24"}], "Ipv6Ranges": [{"CidrIpv6": "2600:1f18::/40"}]}]}]}`)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"19.168.0.0/16": "100.64.0.0/16", "19.168.5.0/24": "100.64.5.0/24", "2600:1f18::/40": "2001:db8:1::/48"}
	for _, m := range rep.Addresses {
		if w, ok := want[m.Original.String()]; ok {
			if m.Mapped.String() != w {
				t.Errorf("%s -> %s, want %s", m.Original, m.Mapped, w)
			}
			delete(want, m.Original.String())
		}
	}
	if len(want) > 0 {
		t.Errorf("not mapped: %v (mapping %v)", want, rep.Addresses)
	}
}
