//go:build !unix

package writer

import "os"

// tempLock is a no-op where flock does not exist (Windows): temps are not locked there, so a sweeper
// can only judge a temp by its age (see doc.go).
type tempLock struct{}

func lockTemp(*os.File) (tempLock, error) { return tempLock{}, nil }

func (l *tempLock) unlock() {}

// removeUnlocked removes rel: without flock no writer can be seen to hold it.
func (r *Root) removeUnlocked(rel string) (removed, live bool, err error) {
	if err := r.root.Remove(rel); err != nil {
		return false, false, err
	}
	return true, false, nil
}
