//go:build !linux

package writer

// renameNoReplace is not available here; create-only commits use link(2).
func (r *Root) renameNoReplace(temp, target string) error { return errNoRenameNoReplace }

// renameExchange is not available here.
func (r *Root) renameExchange(temp, target string) error { return errNoRenameNoReplace }
