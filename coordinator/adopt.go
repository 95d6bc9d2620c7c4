package coordinator

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
	return checkAdoptedFD(a.fd, fl.File())
}
