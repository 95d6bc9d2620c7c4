package mountinfo

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

func TestUnescape(t *testing.T) {
	for in, want := range map[string]string{
		`/mnt/a\040b`:   "/mnt/a b",
		`/mnt/tab\011x`: "/mnt/tab\tx",
		`/plain`:        "/plain",
		`/end\04`:       `/end\04`,
		`/x\134y`:       `/x\y`,
		`/not\08x`:      `/not\08x`,
		`/big\400`:      `/big\400`,
		`/sign\+12`:     `/sign\+12`,
	} {
		if got := Unescape(in); got != want {
			t.Errorf("Unescape(%q): got %q; want %q", in, got, want)
		}
	}
}

const sample = `22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro
40 22 0:35 / /mnt rw,nosuid - tmpfs tmpfs rw,size=64k
41 40 0:36 / /mnt/vol\040one rw,nosuid,nodev - fuse.sshfs user@host:/export\040x rw,user_id=0
42 40 0:37 / /mnt/vol\040one rw,noatime - nfs4 srv:/e rw,vers=4.2,actimeo=3
43 22 0:38 / /mnt/volume rw - tmpfs tmpfs rw
45 22 8:1 /srv/data\040x /mnt/view rw - ext4 /dev/sda1 rw
garbage line without separator
44 22 0:39 / /short - tmpfs
`

func TestFind(t *testing.T) {
	tests := []struct {
		name, dir string
		want      Entry
	}{
		{"root", "/etc", Entry{MountPoint: "/", FSType: "ext4", Source: "/dev/sda1",
			MountOptions: []string{"rw", "relatime"}, SuperOptions: []string{"rw", "errors=remount-ro"}}},
		{"escaped point, last of a stack wins", "/mnt/vol one/sub", Entry{MountPoint: "/mnt/vol one", FSType: "nfs4", Source: "srv:/e",
			MountOptions: []string{"rw", "noatime"}, SuperOptions: []string{"rw", "vers=4.2", "actimeo=3"}}},
		{"prefix is not a parent", "/mnt/volumes", Entry{MountPoint: "/mnt", FSType: "tmpfs", Source: "tmpfs",
			MountOptions: []string{"rw", "nosuid"}, SuperOptions: []string{"rw", "size=64k"}}},
		{"exact point", "/mnt/volume", Entry{MountPoint: "/mnt/volume", FSType: "tmpfs", Source: "tmpfs",
			MountOptions: []string{"rw"}, SuperOptions: []string{"rw"}}},
		{"bind mount of a directory", "/mnt/view/a", Entry{Device: "8:1", Root: "/srv/data x", MountPoint: "/mnt/view", FSType: "ext4", Source: "/dev/sda1",
			MountOptions: []string{"rw"}, SuperOptions: []string{"rw"}}},
		{"short line skipped", "/short/x", Entry{MountPoint: "/", FSType: "ext4", Source: "/dev/sda1",
			MountOptions: []string{"rw", "relatime"}, SuperOptions: []string{"rw", "errors=remount-ro"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := find(strings.NewReader(sample), tt.dir, "")
			if err != nil {
				t.Fatalf("find(%q): %v", tt.dir, err)
			}
			if tt.want.Device != "" && (got.Device != tt.want.Device || got.Root != tt.want.Root) {
				t.Errorf("find(%q): device %q root %q; want %q %q", tt.dir, got.Device, got.Root, tt.want.Device, tt.want.Root)
			}
			if got.MountPoint != tt.want.MountPoint || got.FSType != tt.want.FSType || got.Source != tt.want.Source ||
				!slices.Equal(got.MountOptions, tt.want.MountOptions) || !slices.Equal(got.SuperOptions, tt.want.SuperOptions) {
				t.Errorf("find(%q): got %+v; want %+v", tt.dir, got, tt.want)
			}
			if o, w := got.Options(), append(slices.Clone(tt.want.MountOptions), tt.want.SuperOptions...); !slices.Equal(o, w) {
				t.Errorf("Options(): got %q; want %q", o, w)
			}
		})
	}
}

func TestFindNoMount(t *testing.T) {
	_, err := find(strings.NewReader("40 22 0:35 / /mnt rw - tmpfs tmpfs rw\n"), "/etc", "")
	if !errors.Is(err, ErrNoMount) {
		t.Fatalf("find: got %v; want ErrNoMount", err)
	}
}
