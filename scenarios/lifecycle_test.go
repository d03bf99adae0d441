package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const lifecycleHead = `name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
instances:
`

func TestLifecycleFields(t *testing.T) {
	sc, err := Parse("t.yaml", []byte(lifecycleHead+`  a:
    subnet: main/a
    type: t3.nano
    state: stopped
    volumes:
      - {device: xvdb, kind: instance-store, size: 16MiB}
      - {device: nvme1n1, size: 2097152, delete_on_termination: false}
  b: {subnet: main/a}
steps:
  - instance: start a
  - audit: {instance: a, reuses: b, verified: true}
`))
	require.NoError(t, err)
	a := sc.Instance("a")
	assert.Equal(t, StateStopped, a.State)
	require.Len(t, a.Volumes, 2)
	assert.Equal(t, Volume{Device: "xvdb", Kind: VolumeInstanceStore, Size: 16 << 20, DeleteOnTermination: true, Pos: a.Volumes[0].Pos}, *a.Volumes[0])
	assert.Equal(t, Volume{Device: "nvme1n1", Kind: VolumeEBS, Size: 2 << 20, DeleteOnTermination: false, Pos: a.Volumes[1].Pos}, *a.Volumes[1])
	assert.Equal(t, "", sc.Instance("b").State)
	require.Len(t, sc.Steps, 2)
	assert.Equal(t, "start a", sc.Steps[0].Command)
	assert.Equal(t, "b", sc.Steps[1].Audit.Reuses)
	require.NotNil(t, sc.Steps[1].Audit.Verified)
	assert.True(t, *sc.Steps[1].Audit.Verified)

	// Format writes what Parse read.
	out, err := Format(sc)
	require.NoError(t, err)
	again, err := Parse("again.yaml", out)
	require.NoError(t, err, "%s", out)
	assert.Equal(t, len(a.Volumes), len(again.Instance("a").Volumes))
	assert.Equal(t, StateStopped, again.Instance("a").State)
	assert.Equal(t, "start a", again.Steps[0].Command)
	assert.Equal(t, *sc.Steps[1].Audit, *again.Steps[1].Audit)
}

func TestLifecycleErrors(t *testing.T) {
	inst := func(body string) string { return lifecycleHead + "  a: " + body + "\n" }
	step := func(s string) string { return inst("{subnet: main/a}") + "steps:\n  - " + s + "\n" }
	for _, tc := range []struct{ name, src, want string }{
		{"unknown type", inst("{subnet: main/a, type: c5n.large}"), `instance type "c5n.large" is not known; valid types are c5.large, m5.large`},
		{"custom type", inst("{subnet: main/a, type: custom.x}"), "is not known"},
		{"bad state", inst("{subnet: main/a, state: pending}"), `state "pending": want running (the default) or stopped`},
		{"bad device", inst("{subnet: main/a, volumes: [{device: hda, size: 1MiB}]}"), `disk name "hda" is not a device name like xvdb`},
		{"root device", inst("{subnet: main/a, volumes: [{device: xvda, size: 1MiB}]}"), "device xvda is taken (xvda is the root volume)"},
		{"twice", inst("{subnet: main/a, volumes: [{device: xvdb, size: 1MiB}, {device: xvdb, size: 1MiB}]}"), "device xvdb is taken"},
		{"bad kind", inst("{subnet: main/a, volumes: [{device: xvdb, kind: gp3, size: 1MiB}]}"), `kind "gp3": want ebs (the default) or instance-store`},
		{"zero size", inst("{subnet: main/a, volumes: [{device: xvdb, size: 0}]}"), "size 0: want 1MiB to 1TiB"},
		{"odd size", inst("{subnet: main/a, volumes: [{device: xvdb, size: 1000}]}"), "want a whole number of 1 MiB blocks"},
		{"no size", inst("{subnet: main/a, volumes: [{device: xvdb}]}"), `missing required field "size"`},
		{"unknown volume field", inst("{subnet: main/a, volumes: [{device: xvdb, size: 1MiB, iops: 3000}]}"), `unknown field "iops"`},
		{"bad action", step(`{instance: "hibernate a"}`), `action "hibernate": want one of start, stop, reboot, terminate`},
		{"no name", step(`{instance: "stop"}`), "want ACTION INSTANCE"},
		{"unknown instance", step(`{instance: "stop zz"}`), `no instance "zz"`},
		{"audit unknown", step(`{audit: {instance: zz}}`), `audit: no instance "zz"`},
		{"audit reuses unknown", step(`{audit: {instance: a, reuses: zz}}`), `reuses: no instance "zz"`},
		{"audit no instance", step(`{audit: {reuses: a}}`), `missing required field "instance"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tc.want), "error %q does not contain %q", err, tc.want)
		})
	}
}
