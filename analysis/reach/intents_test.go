package reach

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ec2sim/ec2sim/lab"
	"github.com/ec2sim/ec2sim/scenarios"
)

func analyseFile(t *testing.T, file string, o Options) (*Result, *scenarios.Scenario) {
	t.Helper()
	sc, err := scenarios.Load(file)
	require.NoError(t, err)
	p, err := lab.NewPlan(sc, "reach")
	require.NoError(t, err)
	res, err := Analyze(p, o)
	require.NoError(t, err)
	return res, sc
}

func TestIntents(t *testing.T) {
	res, sc := analyseFile(t, "testdata/web-db-intents.yaml", Options{})
	assert.Equal(t, "tcp:5432", res.Cell("web-1", "db-1").Reach.Summary(), "the fixture: the ACL denies SSH")
	irs := CheckIntents(res, sc.Intents)
	require.Len(t, irs, 4)
	byName := map[string]IntentResult{}
	for _, ir := range irs {
		byName[ir.Name] = ir
	}
	assert.True(t, byName["db-private"].OK, "db-1 has no public address")
	assert.True(t, byName["web-to-db"].OK)

	ssh := byName["ssh-to-db"]
	require.False(t, ssh.OK)
	require.Len(t, ssh.Violations, 1)
	v := ssh.Violations[0]
	assert.Equal(t, "tcp:22", v.Traffic)
	assert.Equal(t, "forward", v.Direction)
	require.NotEmpty(t, v.Blockers)
	assert.Equal(t, "SUBNET_ACL_RESTRICTION", v.Blockers[0].Code)
	assert.Contains(t, v.Blockers[0].Detail, "inbound rule 90 denies")

	https := byName["web-no-https"]
	require.False(t, https.OK)
	require.Len(t, https.Violations, 1)
	v = https.Violations[0]
	assert.Equal(t, "client", v.From)
	assert.Equal(t, "tcp:443", v.Traffic)
	var path []string
	for _, h := range v.Path {
		path = append(path, h.Stage+": "+h.Detail)
	}
	joined := strings.Join(path, "\n")
	assert.Contains(t, joined, "sg-ingress: rule-allowed", "the allowing group rule is named")
	assert.Contains(t, joined, "tcp 443", "the allowing rule's ports are shown")
	assert.NotEmpty(t, v.Return, "the reply's path is shown too")
}

func TestIntentUncheckedOutsideFilter(t *testing.T) {
	res, sc := analyseFile(t, "testdata/web-db-intents.yaml", Options{From: []string{"web-1"}})
	irs := CheckIntents(res, sc.Intents)
	assert.True(t, irs[0].OK)
	assert.Equal(t, []string{"client -> db-1"}, irs[0].Unchecked)
}

func TestFilterNamesNothing(t *testing.T) {
	sc, err := scenarios.Load("testdata/web-db-intents.yaml")
	require.NoError(t, err)
	p, err := lab.NewPlan(sc, "reach")
	require.NoError(t, err)
	_, err = Analyze(p, Options{To: []string{"db-2"}})
	require.ErrorContains(t, err, `to "db-2": no such endpoint`)
}

// TestIntentsWithoutInternet: "internet" in a scenario without one satisfies a deny intent and
// violates an allow intent.
func TestIntentsWithoutInternet(t *testing.T) {
	sc, err := scenarios.Parse("n.yaml", []byte(`name: n
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets: {a: {cidr: 10.0.1.0/24}}
instances:
  web: {subnet: main/a}
intents:
  - {from: internet, to: web, deny: any}
  - {from: web, to: internet, allow: tcp/443}
`))
	require.NoError(t, err)
	p, err := lab.NewPlan(sc, "n")
	require.NoError(t, err)
	res, err := Analyze(p, Options{})
	require.NoError(t, err)
	irs := CheckIntents(res, sc.Intents)
	assert.True(t, irs[0].OK)
	require.False(t, irs[1].OK)
	assert.Contains(t, irs[1].Violations[0].Note, "no internet")
}
