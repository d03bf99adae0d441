package scenarios

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFormatTrickyStrings: strings that yaml.v3 writes wrongly as literal blocks (a leading
// newline or tab) and strings YAML would read as other types survive a format round trip.
func TestFormatTrickyStrings(t *testing.T) {
	for _, s := range []string{
		"\nip a\n ip b\n", "\n\nx\n", "\tindented\n", "a\n\n", "no newline at the end\nx", "a \nb\n",
		"true", "123", "null", "~", "- x", "#x", "a: b", "2024-01-01", "",
	} {
		sc := built()
		sc.Description = s
		sc.Instances[0].UserData = s
		sc.Instances[0].ENIs[0].Description = s
		require.NoError(t, Validate(sc))
		out, err := Format(sc)
		require.NoError(t, err)
		again, err := Parse("f.yaml", out)
		require.NoError(t, err, "%q formatted as:\n%s", s, out)
		assert.Equal(t, s, again.Description, "%q formatted as:\n%s", s, out)
		assert.Equal(t, s, again.Instances[0].UserData, "%q formatted as:\n%s", s, out)
		assert.Equal(t, s, again.Instances[0].ENIs[0].Description, "%q formatted as:\n%s", s, out)
	}
}

func TestFormatUsesLiteralBlocksForScripts(t *testing.T) {
	sc := built()
	sc.Instances[0].UserData = "sysctl -w net.ipv4.ip_forward=1\nip route add 10.0.2.0/24 via 10.0.1.5\n"
	out, err := Format(sc)
	require.NoError(t, err)
	assert.Contains(t, string(out), "    user_data: |\n      sysctl -w net.ipv4.ip_forward=1\n      ip route add")
	assert.Equal(t, 1, strings.Count(string(out), "user_data"))
}

func TestFormatLeavesDefaultsOut(t *testing.T) {
	sc := mustParse(t, vpcHead+"    security_groups:\n      web: {}\ninstances:\n  x: {subnet: main/a}\n")
	out, err := Format(sc)
	require.NoError(t, err)
	assert.Equal(t, `name: t
vpcs:
  main:
    cidr: 10.0.0.0/16
    subnets:
      a: {cidr: 10.0.1.0/24}
      b: {cidr: 10.0.2.0/28}
    security_groups:
      web: {}
instances:
  x: {subnet: main/a}
`, string(out))
}
