package coordinator

import (
	"testing"
	"time"
)

func TestStaleWindowFor(t *testing.T) {
	for _, tc := range []struct {
		fstype string
		opts   string
		want   time.Duration
	}{
		{"ext4", "rw,relatime", 0},
		{"tmpfs", "rw", 0},
		{"nfs4", "rw,vers=4.2", 120 * time.Second},
		{"nfs", "rw,actimeo=3", 6 * time.Second},
		{"nfs4", "rw,acregmax=10,acdirmax=30", 60 * time.Second},
		{"nfs4", "rw,noac", 0},
		{"fuse.sshfs", "rw,user_id=0", DefaultUnknownStaleWindow},
		{"fuse.sshfs", "rw,attr_timeout=2,entry_timeout=1.5", 4 * time.Second},
		{"cifs", "rw", DefaultUnknownStaleWindow},
	} {
		if got := staleWindowFor(tc.fstype, splitOpts(tc.opts)); got != tc.want {
			t.Errorf("staleWindowFor(%s, %s) = %v; want %v", tc.fstype, tc.opts, got, tc.want)
		}
	}
}

func splitOpts(s string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == ',' {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return out
}
