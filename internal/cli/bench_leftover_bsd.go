//go:build unix && !linux && !darwin

package cli

// procSpace, procStart and procState know nothing here: a run's process is
// gone only when no process has its pid (see processGone).
func procSpace() string                             { return "" }
func procStart(pid int) string                      { return "" }
func procState(pid int) (start string, zombie bool) { return "", false }
