package flowlog

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The example records in this file are copied from AWS's "Flow log record examples" page,
// https://docs.aws.amazon.com/vpc/latest/userguide/flow-logs-records-examples.html (archived as
// awsdocs/amazon-vpc-user-guide doc_source/flow-logs-records-examples.md), with the format each
// section declares. The doc's annotations after "#" are left out.

type golden struct {
	name   string
	format string // AWS custom-format syntax; "" is the default format
	lines  []string
}

var goldenExamples = []golden{
	{"accepted", "", []string{
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 172.31.16.21 20641 22 6 20 4249 1418530010 1418530070 ACCEPT OK",
	}},
	{"rejected", "", []string{
		"2 123456789010 eni-1235b8ca123456789 172.31.9.69 172.31.9.12 49761 3389 6 20 4249 1418530010 1418530070 REJECT OK",
	}},
	{"nodata", "", []string{
		"2 123456789010 eni-1235b8ca123456789 - - - - - - - 1431280876 1431280934 - NODATA",
	}},
	{"skipdata", "", []string{
		"2 123456789010 eni-11111111aaaaaaaaa - - - - - - - 1431280876 1431280934 - SKIPDATA",
	}},
	{"ping", "", []string{
		"2 123456789010 eni-1235b8ca123456789 203.0.113.12 172.31.16.139 0 0 1 4 336 1432917027 1432917142 ACCEPT OK",
		"2 123456789010 eni-1235b8ca123456789 172.31.16.139 203.0.113.12 0 0 1 4 336 1432917094 1432917142 REJECT OK",
	}},
	{"ipv6", "", []string{
		"2 123456789010 eni-1235b8ca123456789 2001:db8:1234:a100:8d6e:3477:df66:f105 2001:db8:1234:a102:3304:8879:34cf:4071 34892 22 6 54 8855 1477913708 1477913820 ACCEPT OK",
	}},
	{"tcp-flags", "${version} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${account-id} ${type} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${pkt-srcaddr} ${pkt-dstaddr} ${protocol} ${bytes} ${packets} ${start} ${end} ${action} ${tcp-flags} ${log-status}", []string{
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43416 5001 52.213.180.42 10.0.0.62 6 568 8 1566848875 1566848933 ACCEPT 2 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43416 10.0.0.62 52.213.180.42 6 376 7 1566848875 1566848933 ACCEPT 18 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 100701 70 1566848875 1566848933 ACCEPT 2 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 632 12 1566848875 1566848933 ACCEPT 18 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43418 10.0.0.62 52.213.180.42 6 63388 1219 1566848933 1566849113 ACCEPT 1 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43418 5001 52.213.180.42 10.0.0.62 6 23294588 15774 1566848933 1566849113 ACCEPT 1 OK",
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 52.213.180.42 10.0.0.62 43638 5001 52.213.180.42 10.0.0.62 6 1260 17 1566933133 1566933193 ACCEPT 3 OK",
		// The doc has a double space after 43638 here; values are separated by runs of spaces.
		"3 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-01234567890123456 eni-1235b8ca123456789 123456789010 IPv4 10.0.0.62 52.213.180.42 5001 43638  10.0.0.62 52.213.180.42 6 967 14 1566933133 1566933193 ACCEPT 19 OK",
	}},
	{"nat-gateway", "${instance-id} ${interface-id} ${srcaddr} ${dstaddr} ${pkt-srcaddr} ${pkt-dstaddr}", []string{
		"- eni-1235b8ca123456789 10.0.1.5 10.0.0.220 10.0.1.5 203.0.113.5",
		"- eni-1235b8ca123456789 10.0.0.220 203.0.113.5 10.0.0.220 203.0.113.5",
		"- eni-1235b8ca123456789 203.0.113.5 10.0.0.220 203.0.113.5 10.0.0.220",
		"- eni-1235b8ca123456789 10.0.0.220 10.0.1.5 203.0.113.5 10.0.1.5",
		"i-01234567890123456 eni-1111aaaa2222bbbb3 10.0.1.5 203.0.113.5 10.0.1.5 203.0.113.5",
		"i-01234567890123456 eni-1111aaaa2222bbbb3 203.0.113.5 10.0.1.5 203.0.113.5 10.0.1.5",
	}},
	{"transit-gateway", "${version} ${interface-id} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${tcp-flags} ${type} ${pkt-srcaddr} ${pkt-dstaddr} ${action} ${log-status}", []string{
		"3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.20.33.164 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK",
		"3 eni-33333333333333333 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb i-01234567890123456 10.40.2.236 10.20.33.164 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK",
		"3 eni-11111111111111111 123456789010 vpc-abcdefab012345678 subnet-11111111aaaaaaaaa - 10.40.1.175 10.40.2.236 39812 80 6 3 IPv4 10.20.33.164 10.40.2.236 ACCEPT OK",
		"3 eni-22222222222222222 123456789010 vpc-abcdefab012345678 subnet-22222222bbbbbbbbb - 10.40.2.236 10.40.2.31 80 39812 6 19 IPv4 10.40.2.236 10.20.33.164 ACCEPT OK",
	}},
	{"service-path-direction", "${version} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${start} ${end} ${type} ${packets} ${bytes} ${account-id} ${vpc-id} ${subnet-id} ${instance-id} ${interface-id} ${region} ${az-id} ${sublocation-type} ${sublocation-id} ${action} ${tcp-flags} ${pkt-srcaddr} ${pkt-dstaddr} ${pkt-src-aws-service} ${pkt-dst-aws-service} ${traffic-path} ${flow-direction} ${log-status}", []string{
		"5 52.95.128.179 10.0.0.71 80 34210 6 1616729292 1616729349 IPv4 14 15044 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 19 52.95.128.179 10.0.0.71 S3 - - ingress OK",
		"5 10.0.0.71 52.95.128.179 34210 80 6 1616729292 1616729349 IPv4 7 471 123456789012 vpc-abcdefab012345678 subnet-aaaaaaaa012345678 i-0c50d5961bcb2d47b eni-1235b8ca123456789 ap-southeast-2 apse2-az3 - - ACCEPT 3 10.0.0.71 52.95.128.179 - S3 8 egress OK",
	}},
}

// TestGoldenRoundTrip parses every documented example with its format and writes it back: the
// line must come out as AWS printed it (spaces normalised), the version field being the one the
// format implies.
func TestGoldenRoundTrip(t *testing.T) {
	for _, g := range goldenExamples {
		t.Run(g.name, func(t *testing.T) {
			f, err := ParseFormat(g.format)
			require.NoError(t, err)
			for _, line := range g.lines {
				r, err := ParseRecord(f, line)
				require.NoError(t, err, line)
				if f.Has(FieldVersion) {
					require.Equal(t, f.Version(), r.Version, "the version field is the highest version among the format's fields")
				}
				want := strings.Join(strings.Fields(line), " ")
				require.Equal(t, want, string(f.AppendText(nil, &r)))

				j := f.AppendJSON(nil, &r)
				back, jf, err := ParseJSONRecord(string(j))
				require.NoError(t, err, string(j))
				require.Equal(t, f, jf)
				require.Equal(t, r, back, string(j))
			}
		})
	}
}

func TestGoldenVersions(t *testing.T) {
	want := map[string]int{"accepted": 2, "tcp-flags": 3, "transit-gateway": 3, "service-path-direction": 5, "nat-gateway": 3}
	for _, g := range goldenExamples {
		v, ok := want[g.name]
		if !ok {
			continue
		}
		f, err := ParseFormat(g.format)
		require.NoError(t, err)
		require.Equal(t, v, f.Version(), g.name)
	}
}

// exampleAgg is an aggregator for reproducing the documented records: their start and end are
// the first and last packet, and a 10-minute window (the AWS maximum) holds each example whole.
func exampleAgg(t *testing.T, window time.Duration, start int64) *Aggregator {
	t.Helper()
	a, err := NewAggregator(AggregatorOptions{
		Window: window,
		Clock:  func() time.Time { return time.Unix(start, 0) },
	})
	require.NoError(t, err)
	return a
}

// spread records n packets of total bytes from first to last (seconds), flags on the first
// packet only, the rest plain ACKs.
func spread(a *Aggregator, o Observation, n int, bytes uint64, first, last int64, firstFlags, lastFlags uint8) {
	for i := range n {
		p := o
		p.Bytes = bytes / uint64(n)
		if i == 0 {
			p.Bytes += bytes % uint64(n)
		}
		p.TCPHeaderFlags = 0x10
		switch i {
		case 0:
			p.TCPHeaderFlags = firstFlags
		case n - 1:
			p.TCPHeaderFlags = lastFlags
		}
		ts := first
		if n > 1 {
			ts = first + (last-first)*int64(i)/int64(n-1)
		}
		p.Time = time.Unix(ts, 0)
		a.Record(&p)
	}
}

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

func formatAll(t *testing.T, format string, recs []Record) []string {
	t.Helper()
	f, err := ParseFormat(format)
	require.NoError(t, err)
	var out []string
	for i := range recs {
		out = append(out, string(f.AppendText(nil, &recs[i])))
	}
	return out
}

func TestGoldenFromObservationsAccepted(t *testing.T) {
	eni := &ENI{InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789010", PrimaryIPv4: mustAddr("172.31.16.21")}
	a := exampleAgg(t, 10*time.Minute, 1418530000)
	o := Observation{ENI: eni, Action: Accept, Direction: Ingress,
		Tuple: Tuple{Src: mustAddr("172.31.16.139"), Dst: mustAddr("172.31.16.21"), SrcPort: 20641, DstPort: 22, Proto: 6}}
	spread(a, o, 20, 4249, 1418530010, 1418530070, 0x02, 0x11)
	got := formatAll(t, "", a.Tick(time.Unix(1418530200, 0)))
	require.Equal(t, goldenExamples[0].lines, got)
}

// TestGoldenPing is the documented security-group-versus-NACL example at the record level: the
// security group allows inbound ICMP, the NACL allows it inbound but denies the outbound reply.
// The request is an ACCEPT record on the ENI, the reply (dropped leaving it) a REJECT record.
func TestGoldenPing(t *testing.T) {
	eni := &ENI{InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789010", PrimaryIPv4: mustAddr("172.31.16.139")}
	a := exampleAgg(t, 10*time.Minute, 1432917000)
	home, inst := mustAddr("203.0.113.12"), mustAddr("172.31.16.139")
	req := Observation{ENI: eni, Action: Accept, Direction: Ingress, Tuple: Tuple{Src: home, Dst: inst, Proto: 1}}
	rep := Observation{ENI: eni, Action: Reject, Direction: Egress, Tuple: Tuple{Src: inst, Dst: home, Proto: 1}}
	spread(a, req, 4, 336, 1432917027, 1432917142, 0, 0)
	spread(a, rep, 4, 336, 1432917094, 1432917142, 0, 0)
	got := formatAll(t, "", a.Tick(time.Unix(1432917600, 0)))
	require.Equal(t, goldenExamples[4].lines, got)
}

func TestGoldenIPv6(t *testing.T) {
	own := mustAddr("2001:db8:1234:a102:3304:8879:34cf:4071")
	eni := &ENI{InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789010",
		PrimaryIPv4: mustAddr("10.0.0.5"), IPv6: []netip.Addr{mustAddr("2001:db8:1234:a102::1"), own}}
	a := exampleAgg(t, 10*time.Minute, 1477913400)
	o := Observation{ENI: eni, Action: Accept, Direction: Ingress,
		Tuple: Tuple{Src: mustAddr("2001:db8:1234:a100:8d6e:3477:df66:f105"), Dst: own, SrcPort: 34892, DstPort: 22, Proto: 6}}
	spread(a, o, 54, 8855, 1477913708, 1477913820, 0x02, 0x10)
	got := formatAll(t, "", a.Tick(time.Unix(1477914000, 0)))
	require.Equal(t, goldenExamples[5].lines, got)
}

func TestGoldenTCPFlagSequence(t *testing.T) {
	g := goldenExamples[6]
	eni := &ENI{InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789010", InstanceID: "i-01234567890123456",
		VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-aaaaaaaa012345678", PrimaryIPv4: mustAddr("10.0.0.62")}
	client, server := mustAddr("52.213.180.42"), mustAddr("10.0.0.62")
	in := func(port uint16) Observation {
		return Observation{ENI: eni, Action: Accept, Direction: Ingress, Tuple: Tuple{Src: client, Dst: server, SrcPort: port, DstPort: 5001, Proto: 6}}
	}
	out := func(port uint16) Observation {
		return Observation{ENI: eni, Action: Accept, Direction: Egress, TrafficPath: PathIGW, Tuple: Tuple{Src: server, Dst: client, SrcPort: 5001, DstPort: port, Proto: 6}}
	}
	const syn, synack, ack, fin = 0x02, 0x12, 0x10, 0x11

	// First interval: two connections open (SYN in, SYN-ACK out).
	a := exampleAgg(t, 10*time.Minute, 1566848400)
	spread(a, in(43416), 8, 568, 1566848875, 1566848933, syn, ack)
	spread(a, out(43416), 7, 376, 1566848875, 1566848933, synack, ack)
	spread(a, in(43418), 70, 100701, 1566848875, 1566848933, syn, ack)
	spread(a, out(43418), 12, 632, 1566848875, 1566848933, synack, ack)
	require.Equal(t, g.lines[0:4], formatAll(t, g.format, a.Tick(time.Unix(1566849000, 0))))

	// Second interval: the connection on 43418 closes, FIN each way (the doc lists the server's
	// record first).
	a = exampleAgg(t, time.Hour, 1566848400)
	spread(a, out(43418), 1219, 63388, 1566848933, 1566849113, ack, fin)
	spread(a, in(43418), 15774, 23294588, 1566848933, 1566849113, ack, fin)
	require.Equal(t, g.lines[4:6], formatAll(t, g.format, a.Tick(time.Unix(1566853200, 0))))

	// A short connection inside one window: SYN and FIN OR to 3, SYN-ACK and FIN to 19.
	a = exampleAgg(t, 10*time.Minute, 1566933000)
	spread(a, in(43638), 17, 1260, 1566933133, 1566933193, syn, fin)
	spread(a, out(43638), 14, 967, 1566933133, 1566933193, synack, fin)
	want := []string{g.lines[6], strings.Join(strings.Fields(g.lines[7]), " ")}
	require.Equal(t, want, formatAll(t, g.format, a.Tick(time.Unix(1566933600, 0))))
}

// TestGoldenNATGateway reproduces the NAT gateway example: on the NAT gateway's ENI (requester
// managed, so instance-id is "-") the side of the packet that is not the ENI's own address shows
// the ENI's primary private IPv4 in srcaddr or dstaddr, and pkt-srcaddr/pkt-dstaddr keep the
// packet's. On the instance's ENI the two agree.
func TestGoldenNATGateway(t *testing.T) {
	g := goldenExamples[7]
	nat := &ENI{InterfaceID: "eni-1235b8ca123456789", PrimaryIPv4: mustAddr("10.0.0.220")}
	inst := &ENI{InterfaceID: "eni-1111aaaa2222bbbb3", InstanceID: "i-01234567890123456", PrimaryIPv4: mustAddr("10.0.1.5")}
	host, ngw, src := mustAddr("203.0.113.5"), mustAddr("10.0.0.220"), mustAddr("10.0.1.5")
	a := exampleAgg(t, time.Minute, 1000)
	at := time.Unix(1010, 0)
	for _, o := range []Observation{
		{ENI: nat, Direction: Ingress, Tuple: Tuple{Src: src, Dst: host, SrcPort: 40000, DstPort: 443, Proto: 6}},
		{ENI: nat, Direction: Egress, Tuple: Tuple{Src: ngw, Dst: host, SrcPort: 1024, DstPort: 443, Proto: 6}},
		{ENI: nat, Direction: Ingress, Tuple: Tuple{Src: host, Dst: ngw, SrcPort: 443, DstPort: 1024, Proto: 6}},
		{ENI: nat, Direction: Egress, Tuple: Tuple{Src: host, Dst: src, SrcPort: 443, DstPort: 40000, Proto: 6}},
		{ENI: inst, Direction: Egress, Tuple: Tuple{Src: src, Dst: host, SrcPort: 40000, DstPort: 443, Proto: 6}},
		{ENI: inst, Direction: Ingress, Tuple: Tuple{Src: host, Dst: src, SrcPort: 443, DstPort: 40000, Proto: 6}},
	} {
		o.Action, o.Time = Accept, at
		require.Equal(t, Recorded, a.Record(&o))
	}
	// Sorted by interface ID: the instance's ENI (eni-1111...) comes first.
	want := append(append([]string{}, g.lines[4:6]...), g.lines[0:4]...)
	require.Equal(t, want, formatAll(t, g.format, a.Tick(time.Unix(1060, 0))))
}

// TestGoldenTransitGateway: on the transit gateway's ENIs the flow leaves eni-111 towards the
// server with the client's address as source (srcaddr shows the ENI's own 10.40.1.175) and the
// reply arrives at eni-222 for the client (dstaddr shows 10.40.2.31).
func TestGoldenTransitGateway(t *testing.T) {
	g := goldenExamples[8]
	common := ENI{AccountID: "123456789010", VPCID: "vpc-abcdefab012345678"}
	server := common
	server.InterfaceID, server.SubnetID, server.InstanceID, server.PrimaryIPv4 = "eni-33333333333333333", "subnet-22222222bbbbbbbbb", "i-01234567890123456", mustAddr("10.40.2.236")
	tgw1 := common
	tgw1.InterfaceID, tgw1.SubnetID, tgw1.PrimaryIPv4 = "eni-11111111111111111", "subnet-11111111aaaaaaaaa", mustAddr("10.40.1.175")
	tgw2 := common
	tgw2.InterfaceID, tgw2.SubnetID, tgw2.PrimaryIPv4 = "eni-22222222222222222", "subnet-22222222bbbbbbbbb", mustAddr("10.40.2.31")
	client, srv := mustAddr("10.20.33.164"), mustAddr("10.40.2.236")
	req := Tuple{Src: client, Dst: srv, SrcPort: 39812, DstPort: 80, Proto: 6}
	rep := Tuple{Src: srv, Dst: client, SrcPort: 80, DstPort: 39812, Proto: 6}
	a := exampleAgg(t, time.Minute, 1000)
	at := time.Unix(1010, 0)
	obs := []struct {
		eni   *ENI
		dir   Direction
		tuple Tuple
		flags []uint8
	}{
		{&tgw1, Egress, req, []uint8{0x02, 0x11}},
		{&tgw2, Ingress, rep, []uint8{0x12, 0x11}},
		{&server, Ingress, req, []uint8{0x02, 0x10, 0x11}},
		{&server, Egress, rep, []uint8{0x12, 0x18, 0x11}},
	}
	for _, x := range obs {
		for _, fl := range x.flags {
			o := Observation{ENI: x.eni, Direction: x.dir, Action: Accept, Tuple: x.tuple, TCPHeaderFlags: fl, Time: at}
			require.Equal(t, Recorded, a.Record(&o))
		}
	}
	want := []string{g.lines[2], g.lines[3], g.lines[0], g.lines[1]} // sorted by interface ID
	require.Equal(t, want, formatAll(t, g.format, a.Tick(time.Unix(1060, 0))))
}

func TestGoldenServicePathDirection(t *testing.T) {
	g := goldenExamples[9]
	eni := &ENI{InterfaceID: "eni-1235b8ca123456789", AccountID: "123456789012", InstanceID: "i-0c50d5961bcb2d47b",
		VPCID: "vpc-abcdefab012345678", SubnetID: "subnet-aaaaaaaa012345678", PrimaryIPv4: mustAddr("10.0.0.71"),
		Region: "ap-southeast-2", AZID: "apse2-az3"}
	s3, me := mustAddr("52.95.128.179"), mustAddr("10.0.0.71")
	a := exampleAgg(t, 10*time.Minute, 1616728920)
	in := Observation{ENI: eni, Action: Accept, Direction: Ingress, PktSrcAWSService: "S3",
		TrafficPath: PathIGW, // ignored: traffic-path is for egress only
		Tuple:       Tuple{Src: s3, Dst: me, SrcPort: 80, DstPort: 34210, Proto: 6}}
	out := Observation{ENI: eni, Action: Accept, Direction: Egress, PktDstAWSService: "S3", TrafficPath: PathIGW,
		Tuple: Tuple{Src: me, Dst: s3, SrcPort: 34210, DstPort: 80, Proto: 6}}
	// The ingress flow is recorded first so the output order matches the doc's.
	spread(a, in, 14, 15044, 1616729292, 1616729349, 0x12, 0x11)
	spread(a, out, 7, 471, 1616729292, 1616729349, 0x02, 0x11)
	require.Equal(t, g.lines, formatAll(t, g.format, a.Tick(time.Unix(1616729520, 0))))
}
