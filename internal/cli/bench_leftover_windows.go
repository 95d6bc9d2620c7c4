//go:build windows

package cli

import (
	"errors"
	"strconv"

	"golang.org/x/sys/windows"
)

// procSpace: Windows has no pid namespaces; a reboot is seen in the start
// times.
func procSpace() string { return "" }

// procStart returns the creation time of process pid (100 ns units since
// 1601), "" when it cannot be read.
func procStart(pid int) string {
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return ""
	}
	defer windows.CloseHandle(h)
	return startOfHandle(h)
}

func startOfHandle(h windows.Handle) string {
	var created, exited, kernel, user windows.Filetime
	if err := windows.GetProcessTimes(h, &created, &exited, &kernel, &user); err != nil {
		return ""
	}
	return strconv.FormatInt(created.Nanoseconds()/100, 10)
}

// processGone reports whether the process pid that started at start is
// certainly gone: no process has the pid, the one that has it has exited,
// or it started at another time (the pid was reused).
func processGone(pid int, start string) bool {
	if pid <= 0 {
		return false
	}
	h, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if errors.Is(err, windows.ERROR_INVALID_PARAMETER) {
		return true // no such process
	}
	if err != nil {
		return false
	}
	defer windows.CloseHandle(h)
	const stillActive = 259 // STILL_ACTIVE
	var code uint32
	if windows.GetExitCodeProcess(h, &code) == nil && code != stillActive {
		return true
	}
	now := startOfHandle(h)
	return start != "" && now != "" && now != start
}
