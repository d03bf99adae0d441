package awsimport

import "encoding/json"

// The subset of the EC2 API's describe-* output that the importer reads. Field names are the
// API's (encoding/json matches them case-insensitively); every field an object carries that is
// not listed in its modelled set (see modelled in read.go) is counted in the report instead.

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type cidrAssoc struct {
	CidrBlock      string `json:"CidrBlock"`
	CidrBlockState *struct {
		State string `json:"State"`
	} `json:"CidrBlockState"`
}

type awsVPC struct {
	VpcID                   string      `json:"VpcId"`
	CidrBlock               string      `json:"CidrBlock"`
	CidrBlockAssociationSet []cidrAssoc `json:"CidrBlockAssociationSet"`
	Tags                    []tag       `json:"Tags"`
}

type awsSubnet struct {
	SubnetID            string `json:"SubnetId"`
	VpcID               string `json:"VpcId"`
	CidrBlock           string `json:"CidrBlock"`
	MapPublicIPOnLaunch bool   `json:"MapPublicIpOnLaunch"`
	Tags                []tag  `json:"Tags"`
}

type awsRoute struct {
	DestinationCidrBlock        string `json:"DestinationCidrBlock"`
	DestinationIpv6CidrBlock    string `json:"DestinationIpv6CidrBlock"`
	DestinationPrefixListID     string `json:"DestinationPrefixListId"`
	GatewayID                   string `json:"GatewayId"`
	NatGatewayID                string `json:"NatGatewayId"`
	InstanceID                  string `json:"InstanceId"`
	NetworkInterfaceID          string `json:"NetworkInterfaceId"`
	VpcPeeringConnectionID      string `json:"VpcPeeringConnectionId"`
	TransitGatewayID            string `json:"TransitGatewayId"`
	EgressOnlyInternetGatewayID string `json:"EgressOnlyInternetGatewayId"`
	CarrierGatewayID            string `json:"CarrierGatewayId"`
	LocalGatewayID              string `json:"LocalGatewayId"`
	CoreNetworkArn              string `json:"CoreNetworkArn"`
	State                       string `json:"State"`
	Origin                      string `json:"Origin"`
}

type awsRouteTableAssoc struct {
	Main         bool   `json:"Main"`
	SubnetID     string `json:"SubnetId"`
	GatewayID    string `json:"GatewayId"`
	RouteTableID string `json:"RouteTableId"`
}

type awsRouteTable struct {
	RouteTableID string               `json:"RouteTableId"`
	VpcID        string               `json:"VpcId"`
	Associations []awsRouteTableAssoc `json:"Associations"`
	Routes       []awsRoute           `json:"Routes"`
	Tags         []tag                `json:"Tags"`
}

type awsAttachment struct {
	VpcID string `json:"VpcId"`
	State string `json:"State"`
}

type awsInternetGateway struct {
	InternetGatewayID string          `json:"InternetGatewayId"`
	Attachments       []awsAttachment `json:"Attachments"`
	Tags              []tag           `json:"Tags"`
}

type awsVPNGateway struct {
	VpnGatewayID   string          `json:"VpnGatewayId"`
	State          string          `json:"State"`
	VpcAttachments []awsAttachment `json:"VpcAttachments"`
	Tags           []tag           `json:"Tags"`
}

type awsVPNConnection struct {
	VpnConnectionID string `json:"VpnConnectionId"`
	VpnGatewayID    string `json:"VpnGatewayId"`
	State           string `json:"State"`
	Routes          []struct {
		DestinationCidrBlock string `json:"DestinationCidrBlock"`
		State                string `json:"State"`
	} `json:"Routes"`
}

type awsNATGateway struct {
	NatGatewayID        string `json:"NatGatewayId"`
	VpcID               string `json:"VpcId"`
	SubnetID            string `json:"SubnetId"`
	State               string `json:"State"`
	ConnectivityType    string `json:"ConnectivityType"`
	NatGatewayAddresses []struct {
		PublicIP           string `json:"PublicIp"`
		PrivateIP          string `json:"PrivateIp"`
		AllocationID       string `json:"AllocationId"`
		NetworkInterfaceID string `json:"NetworkInterfaceId"`
	} `json:"NatGatewayAddresses"`
	Tags []tag `json:"Tags"`
}

type awsPeeringEnd struct {
	VpcID     string `json:"VpcId"`
	OwnerID   string `json:"OwnerId"`
	Region    string `json:"Region"`
	CidrBlock string `json:"CidrBlock"`
}

type awsPeering struct {
	VpcPeeringConnectionID string        `json:"VpcPeeringConnectionId"`
	RequesterVpcInfo       awsPeeringEnd `json:"RequesterVpcInfo"`
	AccepterVpcInfo        awsPeeringEnd `json:"AccepterVpcInfo"`
	Status                 struct {
		Code string `json:"Code"`
	} `json:"Status"`
	Tags []tag `json:"Tags"`
}

// awsPrefixList is either describe-prefix-lists' object (Cidrs) or describe-managed-prefix-lists'
// (MaxEntries, AddressFamily) with its entries inline (Entries, as get-managed-prefix-list-entries
// gives them).
type awsPrefixList struct {
	PrefixListID   string   `json:"PrefixListId"`
	PrefixListName string   `json:"PrefixListName"`
	Cidrs          []string `json:"Cidrs"`
	Entries        []struct {
		Cidr        string `json:"Cidr"`
		Description string `json:"Description"`
	} `json:"Entries"`
	MaxEntries    int    `json:"MaxEntries"`
	AddressFamily string `json:"AddressFamily"`
	State         string `json:"State"`
	Tags          []tag  `json:"Tags"`
}

type awsIPRange struct {
	CidrIP      string `json:"CidrIp"`
	CidrIPv6    string `json:"CidrIpv6"`
	Description string `json:"Description"`
}

type awsGroupPair struct {
	GroupID     string `json:"GroupId"`
	UserID      string `json:"UserId"`
	VpcID       string `json:"VpcId"`
	Description string `json:"Description"`
}

type awsPermission struct {
	IPProtocol    string       `json:"IpProtocol"`
	FromPort      *int         `json:"FromPort"`
	ToPort        *int         `json:"ToPort"`
	IPRanges      []awsIPRange `json:"IpRanges"`
	IPv6Ranges    []awsIPRange `json:"Ipv6Ranges"`
	PrefixListIDs []struct {
		PrefixListID string `json:"PrefixListId"`
		Description  string `json:"Description"`
	} `json:"PrefixListIds"`
	UserIDGroupPairs []awsGroupPair `json:"UserIdGroupPairs"`
}

type awsSecurityGroup struct {
	GroupID             string          `json:"GroupId"`
	GroupName           string          `json:"GroupName"`
	Description         string          `json:"Description"`
	VpcID               string          `json:"VpcId"`
	OwnerID             string          `json:"OwnerId"`
	IPPermissions       []awsPermission `json:"IpPermissions"`
	IPPermissionsEgress []awsPermission `json:"IpPermissionsEgress"`
	Tags                []tag           `json:"Tags"`
}

type awsACLEntry struct {
	RuleNumber    int    `json:"RuleNumber"`
	Protocol      string `json:"Protocol"`
	RuleAction    string `json:"RuleAction"`
	Egress        bool   `json:"Egress"`
	CidrBlock     string `json:"CidrBlock"`
	IPv6CidrBlock string `json:"Ipv6CidrBlock"`
	PortRange     *struct {
		From *int `json:"From"`
		To   *int `json:"To"`
	} `json:"PortRange"`
	IcmpTypeCode *struct {
		Type *int `json:"Type"`
		Code *int `json:"Code"`
	} `json:"IcmpTypeCode"`
}

type awsNetworkACL struct {
	NetworkACLID string `json:"NetworkAclId"`
	VpcID        string `json:"VpcId"`
	IsDefault    bool   `json:"IsDefault"`
	Associations []struct {
		SubnetID string `json:"SubnetId"`
	} `json:"Associations"`
	Entries []awsACLEntry `json:"Entries"`
	Tags    []tag         `json:"Tags"`
}

type awsPrivateIP struct {
	PrivateIPAddress string          `json:"PrivateIpAddress"`
	Primary          bool            `json:"Primary"`
	Association      *awsAssociation `json:"Association"`
}

type awsAssociation struct {
	PublicIP   string `json:"PublicIp"`
	IPOwnerID  string `json:"IpOwnerId"`
	AllocID    string `json:"AllocationId"`
	CarrierIP  string `json:"CarrierIp"`
	CustomerIP string `json:"CustomerOwnedIp"`
}

type awsENI struct {
	NetworkInterfaceID string         `json:"NetworkInterfaceId"`
	SubnetID           string         `json:"SubnetId"`
	VpcID              string         `json:"VpcId"`
	InterfaceType      string         `json:"InterfaceType"`
	Description        string         `json:"Description"`
	PrivateIPAddress   string         `json:"PrivateIpAddress"`
	PrivateIPAddresses []awsPrivateIP `json:"PrivateIpAddresses"`
	SourceDestCheck    *bool          `json:"SourceDestCheck"`
	Groups             []struct {
		GroupID   string `json:"GroupId"`
		GroupName string `json:"GroupName"`
	} `json:"Groups"`
	Association *awsAssociation `json:"Association"`
	Attachment  *struct {
		InstanceID  string `json:"InstanceId"`
		DeviceIndex int    `json:"DeviceIndex"`
		Status      string `json:"Status"`
	} `json:"Attachment"`
	Ipv6Addresses []struct {
		IPv6Address string `json:"Ipv6Address"`
	} `json:"Ipv6Addresses"`
	TagSet []tag `json:"TagSet"`
}

type awsInstance struct {
	InstanceID        string   `json:"InstanceId"`
	InstanceType      string   `json:"InstanceType"`
	SubnetID          string   `json:"SubnetId"`
	VpcID             string   `json:"VpcId"`
	PrivateIPAddress  string   `json:"PrivateIpAddress"`
	PublicIPAddress   string   `json:"PublicIpAddress"`
	SourceDestCheck   *bool    `json:"SourceDestCheck"`
	NetworkInterfaces []awsENI `json:"NetworkInterfaces"`
	SecurityGroups    []struct {
		GroupID   string `json:"GroupId"`
		GroupName string `json:"GroupName"`
	} `json:"SecurityGroups"`
	State struct {
		Name string `json:"Name"`
	} `json:"State"`
	Tags []tag `json:"Tags"`
}

type awsReservation struct {
	Instances []json.RawMessage `json:"Instances"`
}

type awsAddress struct {
	PublicIP           string `json:"PublicIp"`
	AllocationID       string `json:"AllocationId"`
	AssociationID      string `json:"AssociationId"`
	InstanceID         string `json:"InstanceId"`
	NetworkInterfaceID string `json:"NetworkInterfaceId"`
	PrivateIPAddress   string `json:"PrivateIpAddress"`
	Domain             string `json:"Domain"`
	Tags               []tag  `json:"Tags"`
}

// nameTag is the value of the object's Name tag, or "".
func nameTag(tags []tag) string {
	for _, t := range tags {
		if t.Key == "Name" {
			return t.Value
		}
	}
	return ""
}
