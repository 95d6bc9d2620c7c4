package coordinator

import (
	"errors"
	"fmt"

	"github.com/sharedwrite/sharedwrite/locking"
)

// checkAdopted verifies the inherited descriptor of a (checkAdoptedFD) against
// the key's lock file opened through the root.
func (c *Coordinator) checkAdopted(a *adoptedLease) error {
	fl, err := c.locks.Open(a.key)
	if err != nil {
		return err
	}
	// Closing another descriptor of the file leaves a flock held through the
	// inherited one in place (flock locks belong to the open file description).
	defer fl.Close()
	err = checkAdoptedFD(a.fd, fl.File())
	var he heldElsewhereError
	if !errors.As(err, &he) {
		return err
	}
	// The descriptor is the key's lock file, but another holder has the
	// lock. A process that outlived the lock that handed the lease down
	// (which released the lock on the descriptor it still has) finds the
	// floor past its token: the next holders' tokens are above it (Lock
	// raises the floor one past its token when its function returns). Its
	// lease has ended, as when no one holds the lock (ErrLeaseLost), rather
	// than been forged. The record is read without the lock, a snapshot:
	// one that is unreadable (being written) leaves the refusal as it is.
	if rec, rerr := fl.ReadRecord(); rerr == nil && rec.Floor.Token > a.token {
		return fmt.Errorf("inherited descriptor %d does not hold the lock, and the volume's floor (token %d) is past the lease's token %d: the lock that handed it down has ended: %w",
			he.fd, rec.Floor.Token, a.token, locking.ErrLeaseLost)
	}
	return err
}

// heldElsewhereError is checkAdoptedFD's refusal of a descriptor that is the
// key's lock file but does not hold its lock, which another holder does.
type heldElsewhereError struct{ fd uintptr }

func (e heldElsewhereError) Error() string {
	return fmt.Sprintf("inherited descriptor %d does not hold the lock (another holder does): %v", e.fd, ErrAdoptedLock)
}

func (e heldElsewhereError) Unwrap() error { return ErrAdoptedLock }
