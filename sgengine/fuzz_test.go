package sgengine

import (
	"net/netip"
	"testing"
)

// FuzzPacketSequence feeds arbitrary packet sequences through Evaluate and Apply, as the engine
// does, and checks the invariants that must hold whatever the packets: no panic, the table stays
// consistent, untracked and denied packets create nothing, the allowance is never exceeded, and
// a packet passes by conntrack only if an earlier packet created its flow, and no group
// reference admits a forwarded packet.
func FuzzPacketSequence(f *testing.F) {
	f.Add([]byte{0, 0, 2, 0, 0, 1, 1, 0, 2, 0x12, 0, 1, 0, 0, 0x10, 0, 2, 1, 0, 4, 0, 5})
	f.Add([]byte{0, 1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 30, 1, 1, 0, 0, 0, 30})
	f.Add([]byte{0, 2, 8, 0, 7, 0, 1, 2, 0, 0, 7, 0, 1, 3, 3, 4, 0, 0})
	f.Add([]byte{0, 4, 0, 0, 0, 0, 1, 4, 0, 0, 0, 200, 1, 4, 0, 0, 0, 255})
	f.Add([]byte{7, 1, 0, 0, 0, 0, 15, 1, 0, 0, 0, 0, 15, 0, 0, 2, 0, 1, 7, 0, 0, 2, 0, 1})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := ctConfig()
		cfg.RelatedICMP = len(data)%2 == 0
		cfg.ENIs[0].Allowance = 8
		// 192.0.2.10 is a member of a group the ENI admits everything from, unless forwarded.
		cfg.Groups = append(cfg.Groups, Group{ID: "sg-peer"})
		cfg.Groups[0].Ingress = append(cfg.Groups[0].Ingress, Rule{Proto: ProtoAll, Group: "sg-peer"})
		cfg.ENIs = append(cfg.ENIs, ENIConfig{Index: 2, Groups: []string{"sg-peer"}, PrivateIPs: []netip.Addr{ip("192.0.2.10")}})
		p := mustCompile(t, cfg)
		ct := NewConntrack()
		remotes := []netip.Addr{ip("192.0.2.9"), ip("203.0.113.7"), ip("2001:db8:9::9"), ip("192.0.2.10")}
		protos := []uint8{ProtoTCP, ProtoUDP, ProtoICMP, ProtoICMP, 47, ProtoUDP}
		created := map[ctKey]bool{}
		now := int64(0)
		for len(data) >= 6 {
			b := data[:6]
			data = data[6:]
			dir := Direction(b[0] & 1)
			remote := remotes[b[0]>>1&3]
			local := ip(me)
			if remote.Is6() {
				local = ip("2001:db8::10")
			}
			fl := Flow{Src: local, Dst: remote, Proto: protos[int(b[1])%len(protos)],
				SrcPort: uint16(b[2] & 7), DstPort: []uint16{22, 53, 443, 5000}[b[2]>>3&3],
				TCPFlags: b[3], Forwarded: b[0]&8 != 0, ICMPType: []uint8{8, 0, 3, 11, 13, 14}[b[2]>>5%6], ICMPCode: b[4] & 7, ICMPID: uint16(b[4] >> 4)}
			if fl.Proto == ProtoICMP && remote.Is6() {
				fl.Proto = ProtoICMPv6
				fl.ICMPType |= 0x80
			}
			if dir == DirIngress {
				fl.Src, fl.Dst, fl.SrcPort, fl.DstPort = fl.Dst, fl.Src, fl.DstPort, fl.SrcPort
			}
			if fl.ICMPType == 3 || fl.ICMPType == 11 {
				fl.IsICMPError = true
				fl.Inner = InnerFlow{Src: fl.Dst, Dst: fl.Src, Proto: ProtoTCP, SrcPort: 0, DstPort: 443}
			}
			now += int64(b[5]) * sec

			before := ct.Len()
			d := p.Evaluate(1, dir, &fl, ct, now)
			k, _ := flowKey(dir, fl.Src, fl.Dst, fl.Proto, fl.SrcPort, fl.DstPort, fl.ICMPType, fl.ICMPID, fl.IsICMPError)
			if (d.Reason == ReasonTrackedFlow || d.Reason == ReasonTrackedReply) && !created[k] {
				t.Fatalf("%+v passed as %v without a flow created before", fl, d.Reason)
			}
			if info, _ := p.Rule(d.Rule); fl.Forwarded && info.Rule.Group != "" {
				t.Fatalf("forwarded %+v allowed by the group reference %v", fl, info)
			}
			ok := ct.Apply(&d.Update, now)
			if d.Update.Op() == OpCreate && ok {
				created[k] = true
			}
			if (!d.Allowed || d.Untracked || d.Update.Op() != OpCreate) && ct.Len() > before {
				t.Fatalf("%+v: %v (untracked %v, op %v) grew the table", fl, d.Reason, d.Untracked, d.Update.Op())
			}
			if ct.Len() > 8 {
				t.Fatalf("%d entries with an allowance of 8", ct.Len())
			}
			if d.Allowed != (d.Reason != ReasonNoRuleMatched && d.Reason != ReasonAllowanceExceeded) {
				t.Fatalf("allowed %v with reason %v", d.Allowed, d.Reason)
			}
		}
		checkTable(t, ct)
	})
}
