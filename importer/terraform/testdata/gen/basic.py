import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import *

# full: with the NAT gateway, its route and resource types that are not modelled (basic.json);
# without: the lab-ready two-tier plan (twotier.json).
def build(full):
    p = Plan()
    tags = lambda n: {"Name": n}
    p.res("aws_vpc", "main", {"cidr_block": "10.0.0.0/16", "enable_dns_hostnames": True, "enable_dns_support": True, "instance_tenancy": "default", "tags": tags("shop"), "assign_generated_ipv6_cidr_block": False},
          ["default_network_acl_id", "default_route_table_id", "default_security_group_id", "main_route_table_id", "owner_id", "ipv6_cidr_block"],
          exprs={"cidr_block": const("10.0.0.0/16"), "enable_dns_hostnames": const(True), "tags": const(tags("shop"))})
    for n, c, pub in [("public", "10.0.1.0/24", True), ("private", "10.0.2.0/24", False)]:
        p.res("aws_subnet", n, {"cidr_block": c, "map_public_ip_on_launch": pub, "availability_zone": "eu-west-1a", "tags": tags(n)},
              ["vpc_id", "availability_zone_id", "owner_id"],
              exprs={"vpc_id": idref("aws_vpc.main"), "cidr_block": const(c), "map_public_ip_on_launch": const(pub), "availability_zone": const("eu-west-1a")})
    p.res("aws_internet_gateway", "gw", {"tags": tags("gw")}, ["vpc_id", "owner_id"], exprs={"vpc_id": idref("aws_vpc.main")})
    if full:
        p.res("aws_eip", "nat", {"domain": "vpc", "tags": None}, ["public_ip", "allocation_id", "association_id", "private_ip", "public_dns"], exprs={"domain": const("vpc")})
    p.res("aws_eip", "web", {"domain": "vpc"}, ["instance", "public_ip", "allocation_id", "association_id", "private_ip", "public_dns"],
          exprs={"domain": const("vpc"), "instance": idref("aws_instance.web")})
    if full:
        p.res("aws_nat_gateway", "nat", {"connectivity_type": "public"}, ["allocation_id", "subnet_id", "network_interface_id", "private_ip", "public_ip"],
              exprs={"allocation_id": idref("aws_eip.nat"), "subnet_id": idref("aws_subnet.public")})
    p.res("aws_route_table", "public", {"route": [{"cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "destination_prefix_list_id": "", "carrier_gateway_id": "", "core_network_arn": "", "egress_only_gateway_id": "", "local_gateway_id": "", "nat_gateway_id": "", "network_interface_id": "", "transit_gateway_id": "", "vpc_endpoint_id": "", "vpc_peering_connection_id": ""}], "tags": tags("public")},
          ["vpc_id", "owner_id", "propagating_vgws"],
          exprs={"vpc_id": idref("aws_vpc.main"), "route": [{"cidr_block": const("0.0.0.0/0"), "gateway_id": idref("aws_internet_gateway.gw")}]})
    p.res("aws_route_table", "private", {"tags": tags("private")}, ["vpc_id", "owner_id", "route", "propagating_vgws"], exprs={"vpc_id": idref("aws_vpc.main")})
    if full:
        p.res("aws_route", "private_default", {"destination_cidr_block": "0.0.0.0/0"}, ["route_table_id", "nat_gateway_id", "instance_id", "origin", "state"],
              exprs={"route_table_id": idref("aws_route_table.private"), "destination_cidr_block": const("0.0.0.0/0"), "nat_gateway_id": idref("aws_nat_gateway.nat")})
    for n in ["public", "private"]:
        p.res("aws_route_table_association", n, {"gateway_id": None}, ["subnet_id", "route_table_id"],
              exprs={"subnet_id": idref("aws_subnet." + n), "route_table_id": idref("aws_route_table." + n)})
    rule = lambda **kw: dict({"cidr_blocks": [], "description": "", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}, **kw)
    p.res("aws_security_group", "web", {"name": "web", "description": "web servers", "revoke_rules_on_delete": False,
          "ingress": [rule(cidr_blocks=["0.0.0.0/0"], from_port=80, to_port=80, protocol="tcp", description="http")],
          "egress": [rule(cidr_blocks=["0.0.0.0/0"], from_port=0, to_port=0, protocol="-1")]},
          ["vpc_id", "owner_id", "name_prefix"],
          exprs={"name": const("web"), "description": const("web servers"), "vpc_id": idref("aws_vpc.main"),
                 "ingress": [{"cidr_blocks": const(["0.0.0.0/0"]), "from_port": const(80), "to_port": const(80), "protocol": const("tcp"), "description": const("http")}],
                 "egress": [{"cidr_blocks": const(["0.0.0.0/0"]), "from_port": const(0), "to_port": const(0), "protocol": const("-1")}]})
    p.res("aws_security_group", "db", {"name": "db", "description": "database servers",
          "ingress": [{k: v for k, v in rule(from_port=5432, to_port=5432, protocol="tcp", description="postgres from web").items() if k != "security_groups"}],
          "egress": []},
          ["vpc_id", "owner_id", "name_prefix"],
          exprs={"name": const("db"), "description": const("database servers"), "vpc_id": idref("aws_vpc.main"),
                 "ingress": [{"from_port": const(5432), "to_port": const(5432), "protocol": const("tcp"), "description": const("postgres from web"),
                              "security_groups": ref("aws_security_group.web.id", "aws_security_group.web")}]})
    p.res("aws_security_group_rule", "web_ssh", {"type": "ingress", "protocol": "tcp", "from_port": 22, "to_port": 22, "cidr_blocks": ["203.0.113.0/24"], "self": False, "description": "admin"},
          ["security_group_id", "source_security_group_id", "security_group_rule_id"],
          exprs={"type": const("ingress"), "protocol": const("tcp"), "from_port": const(22), "to_port": const(22), "cidr_blocks": const(["203.0.113.0/24"]),
                 "security_group_id": idref("aws_security_group.web")})
    p.res("aws_vpc_security_group_ingress_rule", "db_ping", {"ip_protocol": "icmp", "from_port": 8, "to_port": -1, "description": "ping from web"},
          ["security_group_id", "referenced_security_group_id", "security_group_rule_id", "arn"],
          exprs={"ip_protocol": const("icmp"), "from_port": const(8), "to_port": const(-1),
                 "security_group_id": idref("aws_security_group.db"), "referenced_security_group_id": idref("aws_security_group.web")})
    p.res("aws_network_acl", "private", {
          "ingress": [{"rule_no": 100, "action": "allow", "protocol": "6", "from_port": 5432, "to_port": 5432, "cidr_block": "10.0.1.0/24", "ipv6_cidr_block": "", "icmp_type": 0, "icmp_code": 0},
                      {"rule_no": 110, "action": "allow", "protocol": "6", "from_port": 1024, "to_port": 65535, "cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "icmp_type": 0, "icmp_code": 0}],
          "egress": [{"rule_no": 100, "action": "allow", "protocol": "-1", "from_port": 0, "to_port": 0, "cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "icmp_type": 0, "icmp_code": 0}],
          "tags": tags("private")},
          ["vpc_id", "subnet_ids", "owner_id"],
          exprs={"vpc_id": idref("aws_vpc.main"), "subnet_ids": ref("aws_subnet.private.id", "aws_subnet.private")})
    p.res("aws_network_acl_rule", "private_icmp", {"egress": False, "rule_number": 120, "rule_action": "allow", "protocol": "icmp", "cidr_block": "10.0.1.0/24", "icmp_type": -1, "icmp_code": -1},
          ["network_acl_id"], exprs={"network_acl_id": idref("aws_network_acl.private"), "rule_number": const(120), "protocol": const("icmp")})
    p.res("aws_instance", "web", {"ami": "ami-0abcdef1234567890", "instance_type": "t3.micro", "source_dest_check": True, "user_data": "1f3870be274f6c49b3e31a0c6728957f09ed4c47"},
          ["subnet_id", "vpc_security_group_ids", "private_ip", "public_ip", "associate_public_ip_address", "primary_network_interface_id", "security_groups"],
          exprs={"ami": const("ami-0abcdef1234567890"), "instance_type": const("t3.micro"), "subnet_id": idref("aws_subnet.public"),
                 "vpc_security_group_ids": ref("aws_security_group.web.id", "aws_security_group.web"), "user_data": const("#!/bin/sh\necho hi\n")})
    p.res("aws_instance", "db", {"ami": "ami-0abcdef1234567890", "instance_type": "t3.small", "private_ip": "10.0.2.10", "source_dest_check": True},
          ["subnet_id", "vpc_security_group_ids", "public_ip", "associate_public_ip_address", "primary_network_interface_id", "security_groups"],
          exprs={"ami": const("ami-0abcdef1234567890"), "instance_type": const("t3.small"), "subnet_id": idref("aws_subnet.private"), "private_ip": const("10.0.2.10"),
                 "vpc_security_group_ids": ref("aws_security_group.db.id", "aws_security_group.db")})
    if full:
        p.res("aws_s3_bucket", "logs", {"bucket": "shop-logs", "force_destroy": False}, ["bucket_domain_name", "region"], exprs={"bucket": const("shop-logs")})
    if full:
        p.res("aws_cloudwatch_log_group", "flow", {"name": "/shop/flow", "retention_in_days": 7}, [], exprs={"name": const("/shop/flow")})
    if full:
        p.res("aws_instance", "old", {"ami": "ami-0abcdef1234567890", "instance_type": "t2.micro"}, [], actions=("delete",))
    return p

if __name__ == "__main__":
    sys.stdout.write(build(True).dump())
