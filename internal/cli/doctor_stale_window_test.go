package cli

import (
	"strings"
	"testing"
	"time"
)

// The stale-view window doctor prints is the one the volume's writers use
// (coordinator: twice the longest cache time the mount options show, 30 s
// when none is shown), also on a filesystem that is neither local nor NFS:
// CIFS shows its attribute cache time (actimeo=1 by default). doctor printed
// 30 s for every such filesystem, "cache times unknown (FUSE daemons do not
// show theirs)", a CIFS mount included.
func TestDoctorStaleWindowReadsCacheOptionsBeyondNFS(t *testing.T) {
	tests := []struct {
		name string
		fs   fsInfo
		want time.Duration
	}{
		{"cifs actimeo", fsInfo{Type: "cifs", Options: []string{"rw", "vers=3.1.1", "actimeo=1"}}, 2 * time.Second},
		{"smb3 acregmax/acdirmax", fsInfo{Type: "smb3", Options: []string{"rw", "acdirmax=5", "acregmax=2"}}, 10 * time.Second},
		{"9p noac-free options", fsInfo{Type: "9p", Options: []string{"rw", "trans=virtio"}}, 30 * time.Second},
		{"sshfs", fsInfo{Type: "fuse.sshfs", Options: []string{"rw", "user_id=0"}}, 30 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, why := tt.fs.staleWindow()
			if got != tt.want {
				t.Errorf("staleWindow(%s %q): got %v (%s); want %v", tt.fs.Type, tt.fs.Options, got, why, tt.want)
			}
			if !tt.fs.isFUSE() && strings.Contains(why, "FUSE") {
				t.Errorf("staleWindow(%s): reason %q speaks of FUSE", tt.fs.Type, why)
			}
		})
	}
}
