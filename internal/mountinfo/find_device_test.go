package mountinfo

import (
	"strings"
	"testing"
)

// A tmpfs mounted at /srv/a/b, then an overlay mounted over /srv/a: the
// tmpfs is hidden, its line still listed, its mount point the longest
// prefix of /srv/a/b. Which mount holds /srv/a/b is told by its device.
const hiddenSample = `22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
48 22 0:41 / /srv/a/b rw,relatime - tmpfs tmpfs rw,size=1024k
52 22 0:43 / /srv/a rw,relatime - overlay overlay rw,lowerdir=/l,upperdir=/u,workdir=/w
60 22 0:50 / /home rw,relatime - btrfs /dev/sdb1 rw,subvol=/home
`

func TestFindPrefersTheMountOfThePathsDevice(t *testing.T) {
	tests := []struct {
		name, dir, dev string
		wantPoint      string
		wantType       string
	}{
		{"hidden tmpfs, path on the overlay over its parent", "/srv/a/b", "0:43", "/srv/a", "overlay"},
		{"the tmpfs itself when its device is the path's", "/srv/a/b/x", "0:41", "/srv/a/b", "tmpfs"},
		{"device unknown: the longest prefix", "/srv/a/b", "", "/srv/a/b", "tmpfs"},
		{"device of no entry (a btrfs subvolume): the longest prefix", "/home/u", "0:51", "/home", "btrfs"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := find(strings.NewReader(hiddenSample), tt.dir, tt.dev)
			if err != nil {
				t.Fatalf("find(%q, %q): %v", tt.dir, tt.dev, err)
			}
			if got.MountPoint != tt.wantPoint || got.FSType != tt.wantType {
				t.Errorf("find(%q, %q): got %s at %q; want %s at %q", tt.dir, tt.dev, got.FSType, got.MountPoint, tt.wantType, tt.wantPoint)
			}
		})
	}
}
