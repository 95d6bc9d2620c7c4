//go:build linux

package writer

import (
	"os"
	"path/filepath"
	"strconv"
)

// fillPath returns the path PublishDir hands to fill for the new version
// directory rel, and a function to call once fill has returned. fill writes
// through that path with plain os calls, outside os.Root's protection, so a
// path re-joined from the root's name would follow whatever the names above
// the version become while fill runs: a parent swapped for a symlink would
// lead the writes outside the root. The path is instead the directory's open
// handle, /proc/<pid>/fd/<n> (proc(5): the link "refers to" the open file,
// whatever its name is now), which leads to the version directory and nowhere
// else; it is valid, for this process and its children, until done is called.
// Without /proc it is the joined name.
func (r *Root) fillPath(rel string) (p string, done func(), err error) {
	d, err := r.root.Open(rel)
	if err != nil {
		return "", nil, err
	}
	p = "/proc/" + strconv.Itoa(os.Getpid()) + "/fd/" + strconv.FormatUint(uint64(d.Fd()), 10)
	li, lerr := os.Stat(p)
	fi, ferr := d.Stat()
	if lerr != nil || ferr != nil || !os.SameFile(li, fi) {
		d.Close()
		return filepath.Join(r.dir, filepath.FromSlash(rel)), func() {}, nil
	}
	return p, func() { d.Close() }, nil
}
