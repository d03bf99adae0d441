import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import *
p = Plan()
VU = ["default_route_table_id", "default_network_acl_id", "default_security_group_id", "main_route_table_id"]
for n, c in [("a", "10.10.0.0/16"), ("b", "10.20.0.0/16")]:
    p.res("aws_vpc", n, {"cidr_block": c}, VU, exprs={"cidr_block": const(c)})
for n, v, c in [("a_app", "a", "10.10.1.0/24"), ("a_fw", "a", "10.10.2.0/24"), ("b_app", "b", "10.20.1.0/24")]:
    p.res("aws_subnet", n, {"cidr_block": c, "map_public_ip_on_launch": False}, ["vpc_id"], exprs={"vpc_id": idref("aws_vpc." + v), "cidr_block": const(c)})
p.res("aws_internet_gateway", "b", {}, ["vpc_id"], exprs={"vpc_id": idref("aws_vpc.b")})
p.res("aws_vpc_peering_connection", "ab", {"auto_accept": True}, ["vpc_id", "peer_vpc_id", "peer_owner_id", "peer_region", "accept_status"],
      exprs={"vpc_id": idref("aws_vpc.a"), "peer_vpc_id": idref("aws_vpc.b"), "auto_accept": const(True)})
ROUTE = {"cidr_block": "", "ipv6_cidr_block": "", "destination_prefix_list_id": "", "egress_only_gateway_id": "", "gateway_id": "", "nat_gateway_id": "", "network_interface_id": "", "transit_gateway_id": "", "vpc_endpoint_id": "", "vpc_peering_connection_id": "", "carrier_gateway_id": "", "core_network_arn": "", "local_gateway_id": ""}
route = lambda cidr, unknown: {k: (cidr if k == "cidr_block" else v) for k, v in ROUTE.items() if k != unknown}
p.res("aws_default_route_table", "a", {"route": [route("10.20.0.0/16", "vpc_peering_connection_id")]}, ["default_route_table_id", "vpc_id"],
      exprs={"default_route_table_id": ref("aws_vpc.a.default_route_table_id", "aws_vpc.a"),
             "route": [{"cidr_block": const("10.20.0.0/16"), "vpc_peering_connection_id": idref("aws_vpc_peering_connection.ab")}]})
p.res("aws_route_table", "b", {}, ["vpc_id", "route"], exprs={"vpc_id": idref("aws_vpc.b")})
p.res("aws_main_route_table_association", "b", {}, ["vpc_id", "route_table_id", "original_route_table_id"],
      exprs={"vpc_id": idref("aws_vpc.b"), "route_table_id": idref("aws_route_table.b")})
p.res("aws_route", "b_to_a", {"destination_cidr_block": "10.10.0.0/16"}, ["route_table_id", "vpc_peering_connection_id"],
      exprs={"route_table_id": idref("aws_route_table.b"), "destination_cidr_block": const("10.10.0.0/16"), "vpc_peering_connection_id": idref("aws_vpc_peering_connection.ab")})
p.res("aws_route", "b_default", {"destination_cidr_block": "0.0.0.0/0"}, ["route_table_id", "gateway_id"],
      exprs={"route_table_id": idref("aws_route_table.b"), "destination_cidr_block": const("0.0.0.0/0"), "gateway_id": idref("aws_internet_gateway.b")})
p.res("aws_route_table", "a_app", {"route": [route("172.16.0.0/12", "network_interface_id")]}, ["vpc_id"],
      exprs={"vpc_id": idref("aws_vpc.a"), "route": [{"cidr_block": const("172.16.0.0/12"), "network_interface_id": idref("aws_network_interface.fw_inside")}]})
p.res("aws_route_table_association", "a_app", {}, ["subnet_id", "route_table_id"],
      exprs={"subnet_id": idref("aws_subnet.a_app"), "route_table_id": idref("aws_route_table.a_app")})
p.res("aws_ec2_transit_gateway", "tgw", {"description": "hub"}, [], exprs={})
p.res("aws_route", "a_to_tgw", {"destination_cidr_block": "192.168.0.0/16"}, ["route_table_id", "transit_gateway_id"],
      exprs={"route_table_id": ref("aws_vpc.a.default_route_table_id", "aws_vpc.a"), "destination_cidr_block": const("192.168.0.0/16"), "transit_gateway_id": idref("aws_ec2_transit_gateway.tgw")})
rule = lambda **kw: dict({"cidr_blocks": [], "description": "", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}, **kw)
p.res("aws_default_security_group", "a", {"ingress": [rule(protocol="-1", from_port=0, to_port=0, self=True)], "egress": [rule(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"])]},
      ["vpc_id", "name", "description"], exprs={"vpc_id": idref("aws_vpc.a"),
      "ingress": [{"protocol": const("-1"), "from_port": const(0), "to_port": const(0), "self": const(True)}],
      "egress": [{"protocol": const("-1"), "from_port": const(0), "to_port": const(0), "cidr_blocks": const(["0.0.0.0/0"])}]})
p.res("aws_security_group", "b_app", {"name": "b-app", "description": "app in b", "ingress": [rule(protocol="tcp", from_port=443, to_port=443, cidr_blocks=["10.10.0.0/16"])], "egress": []},
      ["vpc_id"], exprs={"vpc_id": idref("aws_vpc.b"), "name": const("b-app")})
p.res("aws_vpc_security_group_egress_rule", "b_app_out", {"ip_protocol": "-1", "cidr_ipv4": "0.0.0.0/0"}, ["security_group_id"],
      exprs={"security_group_id": idref("aws_security_group.b_app"), "ip_protocol": const("-1"), "cidr_ipv4": const("0.0.0.0/0")})
p.res("aws_vpc_security_group_ingress_rule", "b_app_v6", {"ip_protocol": "tcp", "from_port": 443, "to_port": 443, "cidr_ipv6": "2001:db8::/32"}, ["security_group_id"],
      exprs={"security_group_id": idref("aws_security_group.b_app")})
acl = lambda n, a, pr, c, f=0, t=0: {"rule_no": n, "action": a, "protocol": pr, "cidr_block": c, "from_port": f, "to_port": t, "ipv6_cidr_block": "", "icmp_type": 0, "icmp_code": 0}
p.res("aws_default_network_acl", "b", {"ingress": [acl(100, "allow", "-1", "0.0.0.0/0")], "egress": [acl(100, "allow", "-1", "0.0.0.0/0")]},
      ["default_network_acl_id", "subnet_ids", "vpc_id"],
      exprs={"default_network_acl_id": ref("aws_vpc.b.default_network_acl_id", "aws_vpc.b"), "subnet_ids": ref("aws_subnet.b_app.id", "aws_subnet.b_app")})
p.res("aws_network_acl", "a_fw", {"ingress": [], "egress": []}, ["vpc_id", "subnet_ids", "ingress", "egress"], exprs={"vpc_id": idref("aws_vpc.a")})
p.res("aws_network_acl_rule", "a_fw_in", {"egress": False, "rule_number": 100, "rule_action": "allow", "protocol": "-1", "cidr_block": "10.0.0.0/8", "from_port": 0, "to_port": 0},
      ["network_acl_id"], exprs={"network_acl_id": idref("aws_network_acl.a_fw")})
p.res("aws_network_acl_rule", "a_fw_out", {"egress": True, "rule_number": 100, "rule_action": "allow", "protocol": "-1", "cidr_block": "0.0.0.0/0", "from_port": 0, "to_port": 0},
      ["network_acl_id"], exprs={"network_acl_id": idref("aws_network_acl.a_fw")})
p.res("aws_network_acl_rule", "a_fw_deny_rdp", {"egress": False, "rule_number": 50, "rule_action": "deny", "protocol": "tcp", "cidr_block": "0.0.0.0/0", "from_port": 3389, "to_port": 3389},
      ["network_acl_id"], exprs={"network_acl_id": idref("aws_network_acl.a_fw")})
p.res("aws_network_acl_association", "a_fw", {}, ["subnet_id", "network_acl_id"],
      exprs={"subnet_id": idref("aws_subnet.a_fw"), "network_acl_id": idref("aws_network_acl.a_fw")})
p.res("aws_instance", "fw", {"instance_type": "c5.large", "source_dest_check": False, "private_ip": "10.10.2.10"}, ["subnet_id", "vpc_security_group_ids"],
      exprs={"subnet_id": idref("aws_subnet.a_fw"), "source_dest_check": const(False), "private_ip": const("10.10.2.10")})
p.res("aws_network_interface", "fw_inside", {"source_dest_check": False, "private_ips": ["10.10.1.50"], "description": "fw inside"}, ["subnet_id", "security_groups", "attachment", "private_ip"],
      exprs={"subnet_id": idref("aws_subnet.a_app"), "private_ips": const(["10.10.1.50"]), "source_dest_check": const(False)})
p.res("aws_network_interface_attachment", "fw_inside", {"device_index": 1}, ["instance_id", "network_interface_id", "attachment_id", "status"],
      exprs={"instance_id": idref("aws_instance.fw"), "network_interface_id": idref("aws_network_interface.fw_inside"), "device_index": const(1)})
p.res("aws_network_interface", "app_a", {"private_ips": ["10.10.1.10"], "source_dest_check": True}, ["subnet_id", "security_groups", "attachment", "private_ip"],
      exprs={"subnet_id": idref("aws_subnet.a_app"), "private_ips": const(["10.10.1.10"]),
             "security_groups": ref("aws_default_security_group.a.id", "aws_default_security_group.a")})
p.res("aws_instance", "app_a", {"instance_type": "t3.micro", "network_interface": [{"device_index": 0, "delete_on_termination": False, "network_card_index": 0}]},
      ["subnet_id", "private_ip", "vpc_security_group_ids", "network_interface"],
      exprs={"network_interface": [{"device_index": const(0), "network_interface_id": idref("aws_network_interface.app_a")}]})
p.res("aws_instance", "app_b", {"instance_type": "t3.micro", "private_ip": "10.20.1.10", "source_dest_check": True}, ["subnet_id", "vpc_security_group_ids"],
      exprs={"subnet_id": idref("aws_subnet.b_app"), "private_ip": const("10.20.1.10"), "vpc_security_group_ids": ref("aws_security_group.b_app.id", "aws_security_group.b_app")})
p.res("aws_eip", "app_b", {"domain": "vpc"}, ["public_ip", "allocation_id"], exprs={"domain": const("vpc")})
p.res("aws_eip_association", "app_b", {}, ["allocation_id", "instance_id"],
      exprs={"allocation_id": idref("aws_eip.app_b"), "instance_id": idref("aws_instance.app_b")})
sys.stdout.write(p.dump("1.0"))
