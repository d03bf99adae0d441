package lab

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/ec2sim/ec2sim/fabric"
)

// WriteMetrics writes the lab's counters in Prometheus's text exposition format: per ENI the
// packets and bytes each way, drops by reason, conntrack entries and allowance drops (named as
// ENA's ethtool counter is), labelled with the lab, instance, ENI and subnet.
func (l *Lab) WriteMetrics(w io.Writer) error {
	st := l.Engine.State()
	type metric struct {
		name, help, typ string
		rows            []string
	}
	ms := []*metric{
		{name: "ec2sim_eni_rx_packets_total", help: "Frames the ENI sent into the fabric.", typ: "counter"},
		{name: "ec2sim_eni_rx_bytes_total", help: "Bytes of the frames the ENI sent into the fabric.", typ: "counter"},
		{name: "ec2sim_eni_tx_packets_total", help: "Frames the fabric delivered to the ENI.", typ: "counter"},
		{name: "ec2sim_eni_tx_bytes_total", help: "Bytes of the frames the fabric delivered to the ENI.", typ: "counter"},
		{name: "ec2sim_eni_drops_total", help: "Frames dropped, by the reason and the ENI whose stage refused them.", typ: "counter"},
		{name: "ec2sim_eni_conntrack_entries", help: "Tracked connections of the ENI.", typ: "gauge"},
		{name: "ec2sim_eni_conntrack_allowance_exceeded_total", help: "Packets dropped because the ENI's tracked-connection allowance was used up (ENA's conntrack_allowance_exceeded).", typ: "counter"},
	}
	for _, ip := range l.Plan.Instances {
		for _, idx := range ip.ENIs {
			e := &st.ENIs[idx]
			c := l.Engine.Counters(idx)
			ct := l.Engine.Conntrack(idx)
			lbl := fmt.Sprintf(`lab=%q,instance=%q,eni=%q,interface=%q,subnet=%q`, l.Plan.Lab, ip.Name, e.ID, e.Name, st.Subnets[e.Subnet].Name)
			ms[0].rows = append(ms[0].rows, fmt.Sprintf("{%s} %d", lbl, c.RxPackets.Load()))
			ms[1].rows = append(ms[1].rows, fmt.Sprintf("{%s} %d", lbl, c.RxBytes.Load()))
			ms[2].rows = append(ms[2].rows, fmt.Sprintf("{%s} %d", lbl, c.TxPackets.Load()))
			ms[3].rows = append(ms[3].rows, fmt.Sprintf("{%s} %d", lbl, c.TxBytes.Load()))
			var drops []string
			for r := range fabric.NumReasons {
				if n := c.Drops[r].Load(); n > 0 {
					drops = append(drops, fmt.Sprintf("{%s,reason=%q} %d", lbl, fabric.Reason(r).String(), n))
				}
			}
			sort.Strings(drops)
			ms[4].rows = append(ms[4].rows, drops...)
			ms[5].rows = append(ms[5].rows, fmt.Sprintf("{%s} %d", lbl, ct.Len()))
			ms[6].rows = append(ms[6].rows, fmt.Sprintf("{%s} %d", lbl, ct.AllowanceExceeded()))
		}
	}
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for _, r := range m.rows {
			b.WriteString(m.name + r + "\n")
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return l.writeNATMetrics(w)
}

// ServeMetrics serves /metrics on addr until the lab goes down. The address must be on the
// loopback interface: the metrics are for this machine only.
func (l *Lab) ServeMetrics(addr string) (string, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("metrics address %q: want HOST:PORT on loopback, e.g. 127.0.0.1:9120", addr)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return "", fmt.Errorf("metrics address %q: only loopback addresses (127.0.0.1, [::1]) are allowed", addr)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4")
		l.WriteMetrics(w)
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	go func() {
		<-l.done
		srv.Close()
	}()
	return ln.Addr().String(), nil
}
