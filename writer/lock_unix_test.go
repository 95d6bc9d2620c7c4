//go:build unix

package writer

// tempLocked reports whether someone holds a flock on the temp at rel: it
// tries LOCK_EX|LOCK_NB on a fresh descriptor (tryLockTemp) and drops it at
// once.
func (r *Root) tempLocked(rel string) (bool, error) {
	f, live, err := r.tryLockTemp(rel)
	if f != nil {
		f.Close()
	}
	return live, err
}
