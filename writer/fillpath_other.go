//go:build !linux

package writer

import "path/filepath"

// fillPath returns the path PublishDir hands to fill for the new version
// directory rel: its name under the root's directory (see the Linux version
// for why a handle's path is safer where the system has one).
func (r *Root) fillPath(rel string) (string, func(), error) {
	return filepath.Join(r.dir, filepath.FromSlash(rel)), func() {}, nil
}
