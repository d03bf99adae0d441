package lab

import (
	"context"
	"github.com/ec2sim/ec2sim/scenarios"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
	"github.com/ec2sim/ec2sim/flowlog"
	"github.com/ec2sim/ec2sim/hypervisor"
)

const pingLab = `
name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/24}
    security_groups:
      pingable:
        ingress:
          - {proto: icmp, icmp_type: -1, cidr: 0.0.0.0/0}
instances:
  client: {subnet: main/a, ip: 10.0.1.10}
  server: {subnet: main/b, ip: 10.0.2.10, security_groups: [pingable]}
`

// TestFlowLogPingExample reproduces AWS's documented example on real packets: the security
// group admits inbound ICMP and the subnet's network ACL admits inbound but not outbound
// traffic, so the server's ENI logs an ACCEPT record for the ping and a REJECT record for the
// reply.
func TestFlowLogPingExample(t *testing.T) {
	l := upLab(t, "flping", pingLab)
	l.FlowLogDir = t.TempDir()
	info, err := l.CreateFlowLog(FlowLogSpec{Resource: "eni/server", Interval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	// Subnet b's ACL: everything in, nothing out.
	st := l.Engine.State()
	n := *st
	any4 := netip.MustParsePrefix("0.0.0.0/0")
	n.ACLs = append(append([]fabric.ACLState(nil), st.ACLs...), fabric.NewACL("in-only", "acl-in-only",
		[]fabric.ACLEntry{{Number: 100, Allow: true, Proto: -1, ICMPType: -1, ICMPCode: -1, CIDR: any4}}, nil))
	n.Subnets = append([]fabric.SubnetState(nil), st.Subnets...)
	n.Subnets[1].ACL = uint32(len(n.ACLs) - 1)
	if err := fabric.Index(&n); err != nil {
		t.Fatal(err)
	}
	l.Engine.Publish(&n)

	out, _ := hypervisor.Command(l.Plan.Lab, "client", "ping", "-c1", "-W1", "10.0.2.10").CombinedOutput()
	if strings.Contains(string(out), "1 received") {
		t.Fatalf("the reply passed a NACL that denies outbound:\n%s", out)
	}
	time.Sleep(2500 * time.Millisecond)
	if err := l.DeleteFlowLog(info.ID); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(info.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := flowlog.NewReader(f)
	var accept, reject int
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		if rec.LogStatus != flowlog.StatusOK {
			continue
		}
		if rec.Protocol != 1 {
			t.Errorf("unexpected record %+v", rec)
			continue
		}
		switch {
		case rec.Action == flowlog.Accept && rec.SrcAddr.String() == "10.0.1.10" && rec.DstAddr.String() == "10.0.2.10":
			accept++
		case rec.Action == flowlog.Reject && rec.SrcAddr.String() == "10.0.2.10" && rec.DstAddr.String() == "10.0.1.10":
			reject++
		default:
			t.Errorf("unexpected record %+v", rec)
		}
	}
	if accept != 1 || reject != 1 {
		b, _ := os.ReadFile(info.Path)
		t.Errorf("want one ACCEPT (request) and one REJECT (reply), got %d and %d:\n%s", accept, reject, b)
	}
}

func TestMetricsEndpoint(t *testing.T) {
	l := upLab(t, "metrics", pingLab)
	if _, err := l.ServeMetrics("0.0.0.0:0"); err == nil {
		t.Error("a non-loopback metrics address was accepted")
	}
	addr, err := l.ServeMetrics("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hypervisor.Command(l.Plan.Lab, "client", "ping", "-c1", "-W1", "10.0.2.10").Run()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	body := string(b)
	for _, want := range []string{
		`# TYPE ec2sim_eni_rx_packets_total counter`,
		`ec2sim_eni_tx_packets_total{lab="` + l.Plan.Lab + `",instance="server"`,
		`ec2sim_eni_conntrack_entries{`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, `instance="server",eni=`) && strings.Contains(body, `ec2sim_eni_tx_packets_total{lab="`+l.Plan.Lab+`",instance="server",`) {
		for _, line := range strings.Split(body, "\n") {
			if strings.HasPrefix(line, `ec2sim_eni_tx_packets_total{lab="`+l.Plan.Lab+`",instance="server"`) && strings.HasSuffix(line, " 0") {
				t.Errorf("the server received nothing: %s", line)
			}
		}
	}
}

func TestScenarioFlowLogs(t *testing.T) {
	needRoot(t)
	src := pingLab + `flow_logs:
  server-log: {resource: eni/server, interval: 1s, format: "${version} ${interface-id} ${srcaddr} ${dstaddr} ${protocol} ${action} ${flow-direction}"}
`
	sc, err := scenarios.Parse("fl.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	plan, err := NewPlan(sc, uniqueName("scfl"))
	if err != nil {
		t.Fatal(err)
	}
	plan.FlowLogDir = t.TempDir()
	l, err := Up(context.Background(), plan)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Down()
	hypervisor.Command(l.Plan.Lab, "client", "ping", "-c1", "-W1", "10.0.2.10").Run()
	time.Sleep(2500 * time.Millisecond)
	b, err := os.ReadFile(filepath.Join(plan.FlowLogDir, "server-log.log"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	if !strings.HasPrefix(text, "version interface-id srcaddr dstaddr protocol action flow-direction\n") ||
		!strings.Contains(text, "10.0.1.10 10.0.2.10 1 ACCEPT ingress") || !strings.Contains(text, "10.0.2.10 10.0.1.10 1 ACCEPT egress") {
		t.Errorf("flow log:\n%s", text)
	}
}
