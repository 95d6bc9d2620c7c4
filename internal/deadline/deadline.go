// Package deadline tells when a context's work is over.
package deadline

import (
	"context"
	"time"
)

// Passed reports whether ctx has ended or its deadline has passed: a
// connection's I/O deadline, set from ctx's, can fire a moment before ctx's
// own timer, and the i/o timeout it gives is then the deadline's, not a
// failure of the other side.
func Passed(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	dl, ok := ctx.Deadline()
	return ok && !time.Now().Before(dl)
}
