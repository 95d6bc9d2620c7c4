//go:build !unix

package writer

import "os"

// tempLock is a no-op where flock does not exist (Windows): temps are not locked there, so a sweeper
// can only judge a temp by its age (see doc.go).
type tempLock struct{}

func lockTemp(*os.File) (tempLock, error) { return tempLock{}, nil }

func (l *tempLock) unlock() {}

// tempLocked always reports false without flock (no flock).
func (r *Root) tempLocked(string) (bool, error) { return false, nil }
