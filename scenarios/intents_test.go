package scenarios

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// intentsFile has instances web and db and internet host client; intent i (0-based) is on
// line 14+i, its mapping at column 5.
func intentsFile(intents ...string) string {
	s := vpcHead + `instances:
  web: {subnet: main/a}
  db: {subnet: main/b}
internet:
  hosts: {client: 198.51.100.7}
intents:
`
	for _, in := range intents {
		s += "  - " + in + "\n"
	}
	return s
}

func TestIntentsParse(t *testing.T) {
	sc, err := Parse("i.yaml", []byte(intentsFile(
		`{name: db-private, from: internet, to: db, deny: any}`,
		`{from: web, to: db, allow: "tcp/5432, udp/53-54, icmp", description: app}`,
		`{from: client, to: web.eth0, allow: tcp}`,
	)))
	require.NoError(t, err)
	require.Len(t, sc.Intents, 3)
	in := sc.Intents[0]
	assert.Equal(t, "deny", in.Verb())
	assert.Equal(t, []Traffic{{"tcp", 1, 65535}, {"udp", 1, 65535}, {Proto: "icmp"}}, in.Traffic)
	assert.Equal(t, 14, in.Pos.Line)
	assert.Equal(t, []Traffic{{"tcp", 5432, 5432}, {"udp", 53, 54}, {Proto: "icmp"}}, sc.Intents[1].Traffic)
	assert.Equal(t, "intent 2", sc.Intents[1].Label(1))
	assert.Equal(t, []Traffic{{"tcp", 1, 65535}}, sc.Intents[2].Traffic)
	// Format writes them back so that they read the same.
	out, err := Format(sc)
	require.NoError(t, err)
	again, err := Parse("again.yaml", out)
	require.NoError(t, err, string(out))
	for i := range sc.Intents {
		assert.Equal(t, sc.Intents[i].Traffic, again.Intents[i].Traffic)
		assert.Equal(t, sc.Intents[i].From, again.Intents[i].From)
		assert.Equal(t, sc.Intents[i].Name, again.Intents[i].Name)
	}
}

func TestBadIntents(t *testing.T) {
	cases := []struct{ intent, want string }{
		{`{from: web, to: db}`, "i.yaml:14:5: intent 1: want allow: TRAFFIC or deny: TRAFFIC"},
		{`{from: web, to: db, allow: any, deny: any}`, "i.yaml:14:43: intent 1: has both allow and deny"},
		{`{from: web, to: db, allow: tcp/0}`, `i.yaml:14:32: intent 1: allow "tcp/0": ports "0"`},
		{`{from: web, to: db, allow: tcp/+80}`, `i.yaml:14:32: intent 1: allow "tcp/+80": ports "+80"`},
		{`{from: web, to: db, allow: tcp/90-80}`, `i.yaml:14:32: intent 1: allow "tcp/90-80": port range 90-80 is reversed`},
		{`{from: web, to: db, deny: icmp/8}`, `i.yaml:14:31: intent 1: deny "icmp/8": icmp takes no port`},
		{`{from: web, to: db, deny: sctp}`, `i.yaml:14:31: intent 1: deny "sctp": want "any" or`},
		{`{from: nobody, to: db, deny: any}`, `i.yaml:14:12: intent 1: from "nobody": no instance "nobody"`},
		{`{from: web, to: db.eth3, deny: any}`, `i.yaml:14:21: intent 1: to "db.eth3": instance db has 1 ENIs`},
		{`{from: internet, to: internet, deny: any}`, "i.yaml:14:26: intent 1: from and to are both the internet"},
		{`{from: web, to: web.eth0, deny: any}`, `i.yaml:14:21: intent 1: from and to are both instance web`},
		{`{from: web, to: db, deny: any, port: 80}`, `i.yaml:14:36: intent 1: unknown field "port"`},
		{`{name: Bad_Name, from: web, to: db, deny: any}`, `i.yaml:14:12: intent 1 (Bad_Name): name "Bad_Name"`},
	}
	for _, c := range cases {
		t.Run(c.intent, func(t *testing.T) {
			_, err := Parse("i.yaml", []byte(intentsFile(c.intent)))
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
	_, err := Parse("i.yaml", []byte(intentsFile(`{name: a, from: web, to: db, deny: any}`, `{name: a, from: db, to: web, deny: any}`)))
	require.Error(t, err)
	assert.Contains(t, err.Error(), `i.yaml:15:12: intent 2 (a): name "a" is already used by the intent at line 14`)
}

func FuzzParseTraffic(f *testing.F) {
	for _, s := range []string{"any", "tcp", "tcp/22", "udp/1-65535", "icmp", "tcp/80, udp/53", "tcp/-", "tcp/70000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ts, err := ParseTraffic(s)
		if err != nil {
			return
		}
		for _, tr := range ts {
			if tr.Proto != "icmp" && (tr.From < 1 || tr.To > 65535 || tr.From > tr.To) {
				t.Fatalf("%q gave %+v", s, tr)
			}
		}
		// The printed form reads back the same.
		var parts []string
		for _, tr := range ts {
			parts = append(parts, tr.String())
		}
		again, err := ParseTraffic(joinComma(parts))
		if err != nil || len(again) != len(ts) {
			t.Fatalf("%q -> %v does not read back: %v", s, parts, err)
		}
	})
}

func joinComma(s []string) string {
	out := ""
	for i, p := range s {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}
