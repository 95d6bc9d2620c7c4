// Package procstat reads a process's state and start time from
// /proc/<pid>/stat (Linux only): with the pid, the start time identifies a
// process even after its pid is reused.
package procstat
