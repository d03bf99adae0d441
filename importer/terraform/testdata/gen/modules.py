import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import *
p = Plan()
p.call([], "net", "./modules/net", {"cidr": const("10.1.0.0/16"), "name": const("app")})
p.call([], "sg", "./modules/sg", {"vpc_id": ref("module.net.vpc_id", "module.net")})
N, NP = "module.net", ["net"]
p.res("aws_vpc", "this", {"cidr_block": "10.1.0.0/16", "tags": {"Name": "app"}}, ["default_route_table_id", "default_network_acl_id", "default_security_group_id", "main_route_table_id"],
      module=N, path=NP, exprs={"cidr_block": ref("var.cidr"), "tags": ref("var.name")})
p.res("aws_internet_gateway", "this", {}, ["vpc_id"], module=N, path=NP, exprs={"vpc_id": idref("aws_vpc.this")})
for i in range(2):
    p.res("aws_subnet", "private", {"cidr_block": f"10.1.{i}.0/24", "map_public_ip_on_launch": False}, ["vpc_id"], module=N, index=i,
          path=NP if i == 0 else None, count=2, exprs={"vpc_id": idref("aws_vpc.this"), "cidr_block": ref("var.cidr", "count.index")} if i == 0 else None)
for k, c in [("a", "10.1.100.0/24"), ("b", "10.1.101.0/24")]:
    p.res("aws_subnet", "public", {"cidr_block": c, "map_public_ip_on_launch": False}, ["vpc_id"], module=N, index=k,
          path=NP if k == "a" else None, exprs={"vpc_id": idref("aws_vpc.this"), "cidr_block": ref("each.value")} if k == "a" else None)
p.res("aws_route_table", "public", {"tags": None, "route": [{"cidr_block": "0.0.0.0/0", "ipv6_cidr_block": "", "destination_prefix_list_id": "", "egress_only_gateway_id": "", "nat_gateway_id": "", "network_interface_id": "", "transit_gateway_id": "", "vpc_endpoint_id": "", "vpc_peering_connection_id": "", "carrier_gateway_id": "", "core_network_arn": "", "local_gateway_id": ""}]}, ["vpc_id"], module=N, path=NP,
      exprs={"vpc_id": idref("aws_vpc.this"), "route": [{"cidr_block": const("0.0.0.0/0"), "gateway_id": idref("aws_internet_gateway.this")}]})
for k in ["a", "b"]:
    p.res("aws_route_table_association", "public", {}, ["subnet_id", "route_table_id"], module=N, index=k,
          path=NP if k == "a" else None, for_each=["aws_subnet.public"],
          exprs={"subnet_id": ref("each.value.id", "each.value"), "route_table_id": idref("aws_route_table.public")} if k == "a" else None)
p.output(NP, "vpc_id", ["aws_vpc.this.id", "aws_vpc.this"])
p.output(NP, "private_subnet_ids", ["aws_subnet.private"])
p.output(NP, "public_subnet_a", ['aws_subnet.public["a"].id', 'aws_subnet.public["a"]', "aws_subnet.public"])
S, SP = "module.sg", ["sg"]
sgrule = lambda **kw: dict({"cidr_blocks": [], "description": "", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}, **kw)
p.res("aws_security_group", "app", {"name": "app", "description": "app servers",
      "ingress": [sgrule(from_port=8080, to_port=8080, protocol="tcp", self=True), sgrule(from_port=22, to_port=22, protocol="tcp", cidr_blocks=["10.1.100.0/24"])],
      "egress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "to_port": 0, "protocol": "-1", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}]},
      ["vpc_id"], module=S, path=SP,
      exprs={"name": const("app"), "description": const("app servers"), "vpc_id": ref("var.vpc_id"),
             "ingress": [{"from_port": const(8080), "to_port": const(8080), "protocol": const("tcp"), "self": const(True)},
                         {"from_port": const(22), "to_port": const(22), "protocol": const("tcp"), "cidr_blocks": const(["10.1.100.0/24"])}],
             "egress": [{"from_port": const(0), "to_port": const(0), "protocol": const("-1"), "cidr_blocks": const(["0.0.0.0/0"])}]})
p.output(SP, "app_sg_id", ["aws_security_group.app.id", "aws_security_group.app"])
for i in range(2):
    p.res("aws_instance", "app", {"ami": "ami-0abcdef1234567890", "instance_type": "t3.micro", "source_dest_check": True}, ["subnet_id", "vpc_security_group_ids", "private_ip"],
          index=i, count=2, exprs={"ami": const("ami-0abcdef1234567890"), "instance_type": const("t3.micro"),
                                   "subnet_id": ref("module.net.private_subnet_ids", "module.net", "count.index"),
                                   "vpc_security_group_ids": ref("module.sg.app_sg_id", "module.sg")} if i == 0 else None)
p.res("aws_instance", "bastion", {"ami": "ami-0abcdef1234567890", "instance_type": "t3.nano", "associate_public_ip_address": True, "source_dest_check": True},
      ["subnet_id", "vpc_security_group_ids", "private_ip"],
      exprs={"subnet_id": ref("module.net.public_subnet_a", "module.net"), "associate_public_ip_address": const(True),
             "vpc_security_group_ids": ref("module.sg.app_sg_id", "module.sg")})
p.res("random_id", "suffix", {"byte_length": 4}, ["hex", "b64_url"], exprs={"byte_length": const(4)})
sys.stdout.write(p.dump("1.2"))
