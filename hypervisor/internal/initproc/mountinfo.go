package initproc

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Mount is one line of /proc/<pid>/mountinfo, the fields ec2sim needs.
type Mount struct {
	Major, Minor uint32 // the device of the file system (0:N for virtual ones)
	Point        string // where it is mounted, unescaped
	FSType       string
	SuperOpts    []string // the file system's options, e.g. a cgroup v1 mount's controllers
}

// ParseMountinfo reads /proc/<pid>/mountinfo (proc(5)): "id parent major:minor root point
// options [optional fields] - type source super-options". Mount points have spaces, tabs,
// newlines and backslashes escaped in octal.
func ParseMountinfo(b []byte) ([]Mount, error) {
	var ms []Mount
	for n, line := range strings.Split(string(b), "\n") {
		if line == "" {
			continue
		}
		f := strings.Fields(line)
		sep := slices.Index(f, "-")
		if len(f) < 10 || sep < 6 || len(f) != sep+4 {
			return nil, fmt.Errorf("mountinfo line %d %q: want id, parent, device, root, point, options, optional fields, -, type, source, super options", n+1, line)
		}
		maj, min, ok := strings.Cut(f[2], ":")
		ma, err1 := strconv.ParseUint(maj, 10, 32)
		mi, err2 := strconv.ParseUint(min, 10, 32)
		if !ok || err1 != nil || err2 != nil {
			return nil, fmt.Errorf("mountinfo line %d: device %q is not major:minor", n+1, f[2])
		}
		ms = append(ms, Mount{Major: uint32(ma), Minor: uint32(mi), Point: unescapeOctal(f[4]),
			FSType: f[sep+1], SuperOpts: strings.Split(f[sep+3], ",")})
	}
	return ms, nil
}

// unescapeOctal undoes the kernel's \ooo escapes in mountinfo paths; anything else is kept.
func unescapeOctal(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && s[i+1] >= '0' && s[i+1] <= '3' && isOctal(s[i+2]) && isOctal(s[i+3]) {
			v := (s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0')
			b.WriteByte(v)
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }
