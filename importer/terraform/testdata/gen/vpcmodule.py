# The shape of the popular terraform-aws-modules/vpc module: count = 1 resources, vpc_id through
# a local, element(...[*].id, count.index) lists, a single NAT gateway, var flags in expressions.
import os, sys; sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen import *
p = Plan()
p.call([], "vpc", "terraform-aws-modules/vpc/aws", {"name": const("shop"), "cidr": const("10.50.0.0/16"),
       "public_subnets": const(["10.50.101.0/24", "10.50.102.0/24"]), "private_subnets": const(["10.50.1.0/24", "10.50.2.0/24"]),
       "enable_nat_gateway": const(True), "single_nat_gateway": const(True)}, )
M, MP = "module.vpc", ["vpc"]
first = set()
def r(typ, name, values, unknown, index, exprs):
    key = (typ, name)
    e = exprs if key not in first else None
    first.add(key)
    p.res(typ, name, values, unknown, module=M, index=index, path=MP if e is not None else None, exprs=e, count=1 if e is not None else None)
r("aws_vpc", "this", {"cidr_block": "10.50.0.0/16", "enable_dns_support": True}, ["default_route_table_id", "default_network_acl_id", "default_security_group_id", "main_route_table_id"], 0,
  {"cidr_block": ref("var.cidr", "local.ipv4_ipam_pool_id"), "enable_dns_support": ref("var.enable_dns_support")})
r("aws_internet_gateway", "this", {}, ["vpc_id"], 0, {"vpc_id": ref("local.vpc_id")})
for kind, cidrs, pub in [("public", ["10.50.101.0/24", "10.50.102.0/24"], True), ("private", ["10.50.1.0/24", "10.50.2.0/24"], False)]:
    for i, c in enumerate(cidrs):
        r("aws_subnet", kind, {"cidr_block": c, "map_public_ip_on_launch": pub}, ["vpc_id"], i,
          {"vpc_id": ref("local.vpc_id"), "cidr_block": ref("var." + kind + "_subnets", "count.index"), "map_public_ip_on_launch": ref("var.map_public_ip_on_launch")})
r("aws_route_table", "public", {}, ["vpc_id", "route"], 0, {"vpc_id": ref("local.vpc_id")})
r("aws_route_table", "private", {}, ["vpc_id", "route"], 0, {"vpc_id": ref("local.vpc_id")})
r("aws_route", "public_internet_gateway", {"destination_cidr_block": "0.0.0.0/0"}, ["route_table_id", "gateway_id"], 0,
  {"route_table_id": ref("aws_route_table.public[0].id", "aws_route_table.public[0]", "aws_route_table.public"),
   "gateway_id": ref("aws_internet_gateway.this[0].id", "aws_internet_gateway.this[0]", "aws_internet_gateway.this"),
   "destination_cidr_block": const("0.0.0.0/0")})
r("aws_eip", "nat", {"domain": "vpc"}, ["public_ip", "allocation_id"], 0, {"domain": const("vpc")})
r("aws_nat_gateway", "this", {"connectivity_type": "public"}, ["allocation_id", "subnet_id"], 0,
  {"allocation_id": ref("local.nat_gateway_ips", "var.single_nat_gateway", "count.index"),
   "subnet_id": ref("aws_subnet.public", "var.single_nat_gateway", "count.index")})
r("aws_route", "private_nat_gateway", {"destination_cidr_block": "0.0.0.0/0"}, ["route_table_id", "nat_gateway_id"], 0,
  {"route_table_id": ref("aws_route_table.private", "count.index"), "nat_gateway_id": ref("aws_nat_gateway.this", "count.index"),
   "destination_cidr_block": ref("var.nat_gateway_destination_cidr_block")})
for kind in ["public", "private"]:
    for i in range(2):
        rt = ref("aws_route_table.public[0].id", "aws_route_table.public[0]", "aws_route_table.public") if kind == "public" else \
             ref("aws_route_table.private", "var.single_nat_gateway", "count.index")
        r("aws_route_table_association", kind, {}, ["subnet_id", "route_table_id"], i,
          {"subnet_id": ref("aws_subnet." + kind, "count.index"), "route_table_id": rt})
r("aws_default_security_group", "this", {"ingress": [], "egress": []}, ["vpc_id", "name"], 0, {"vpc_id": ref("aws_vpc.this[0].id", "aws_vpc.this[0]", "aws_vpc.this")})
p.output(MP, "vpc_id", ["aws_vpc.this[0].id", "aws_vpc.this[0]", "aws_vpc.this"])
p.output(MP, "public_subnets", ["aws_subnet.public"])
p.output(MP, "private_subnets", ["aws_subnet.private"])
p.res("aws_security_group", "web", {"name": "web", "description": "web", "ingress": [
          {"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 443, "to_port": 443, "protocol": "tcp", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}],
      "egress": [{"cidr_blocks": ["0.0.0.0/0"], "description": "", "from_port": 0, "to_port": 0, "protocol": "-1", "ipv6_cidr_blocks": [], "prefix_list_ids": [], "security_groups": [], "self": False}]},
      ["vpc_id"], exprs={"vpc_id": ref("module.vpc.vpc_id", "module.vpc"), "name": const("web"),
      "ingress": [{"from_port": const(443), "to_port": const(443), "protocol": const("tcp"), "cidr_blocks": const(["0.0.0.0/0"])}],
      "egress": [{"from_port": const(0), "to_port": const(0), "protocol": const("-1"), "cidr_blocks": const(["0.0.0.0/0"])}]})
p.res("aws_instance", "web", {"instance_type": "t3.micro"}, ["subnet_id", "vpc_security_group_ids", "private_ip"],
      exprs={"subnet_id": ref("module.vpc.public_subnets[0]", "module.vpc.public_subnets", "module.vpc"),
             "vpc_security_group_ids": ref("aws_security_group.web.id", "aws_security_group.web")})
p.res("aws_instance", "worker", {"instance_type": "t3.micro"}, ["subnet_id", "vpc_security_group_ids", "private_ip"],
      exprs={"subnet_id": ref("module.vpc.private_subnets[1]", "module.vpc.private_subnets", "module.vpc")})
sys.stdout.write(p.dump("1.2"))
