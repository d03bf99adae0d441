package awsimport

import (
	"strings"
	"testing"
)

// TestUnknownInstanceType: an instance type ec2sim does not model (a real account has many)
// does not fail the import: the instance runs as the default type, and the report says so.
func TestUnknownInstanceType(t *testing.T) {
	snap := &Snapshot{}
	for name, data := range map[string]string{
		"a.json": goodVPC,
		"b.json": `{"Subnets": [{"SubnetId": "subnet-1", "VpcId": "vpc-1", "CidrBlock": "10.0.1.0/24"}]}`,
		"c.json": `{"Reservations": [{"Instances": [
			{"InstanceId": "i-1", "InstanceType": "m6i.4xlarge", "State": {"Name": "running"},
			 "NetworkInterfaces": [{"NetworkInterfaceId": "eni-1", "SubnetId": "subnet-1", "PrivateIpAddress": "10.0.1.5"}]},
			{"InstanceId": "i-2", "InstanceType": "t2.micro", "State": {"Name": "running"},
			 "NetworkInterfaces": [{"NetworkInterfaceId": "eni-2", "SubnetId": "subnet-1", "PrivateIpAddress": "10.0.1.6"}]}]}]}`,
	} {
		if err := snap.Add(name, []byte(data)); err != nil {
			t.Fatal(err)
		}
	}
	sc, rep, err := Import(snap, Options{Name: "types"})
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, in := range sc.Instances {
		types[in.Type] = true
	}
	if !types[""] || !types["t2.micro"] || types["m6i.4xlarge"] {
		t.Errorf("instance types %v: want the unknown one dropped to the default and t2.micro kept", types)
	}
	if !strings.Contains(strings.Join(rep.Warnings, "\n"), "type m6i.4xlarge is not one ec2sim models") {
		t.Errorf("the report does not say so: %v", rep.Warnings)
	}
}
