package cli

// closedAtStart is false on Windows: its runtime puts no /dev/null in the
// place of a missing standard handle.
func closedAtStart(int) bool { return false }
