//go:build linux

package coordinator

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// mountStaleWindow finds the mount that holds dir in /proc/self/mountinfo (the
// longest mount point that is a prefix of dir) and derives the window from its
// type and options.
func mountStaleWindow(dir string) time.Duration {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return DefaultUnknownStaleWindow
	}
	defer f.Close()
	if abs, err := filepath.EvalSymlinks(dir); err == nil {
		dir = abs
	}
	var bestPoint, bestType string
	var bestOpts []string
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 64*1024), 1024*1024)
	for s.Scan() {
		// id parent major:minor root mountpoint mountopts [optional...] - fstype source superopts
		pre, post, ok := strings.Cut(s.Text(), " - ")
		if !ok {
			continue
		}
		pf, qf := strings.Fields(pre), strings.Fields(post)
		if len(pf) < 6 || len(qf) < 3 {
			continue
		}
		point := unescapeMount(pf[4])
		if !within(dir, point) || len(point) < len(bestPoint) {
			continue
		}
		bestPoint, bestType = point, qf[0]
		bestOpts = append(strings.Split(pf[5], ","), strings.Split(qf[2], ",")...)
	}
	if bestPoint == "" {
		return DefaultUnknownStaleWindow
	}
	return staleWindowFor(bestType, bestOpts)
}

func within(dir, point string) bool {
	if point == "/" {
		return true
	}
	return dir == point || strings.HasPrefix(dir, point+"/")
}

// unescapeMount undoes mountinfo's octal escapes (\040 for a space, ...).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var v byte
			okOct := true
			for _, c := range []byte(s[i+1 : i+4]) {
				if c < '0' || c > '7' {
					okOct = false
					break
				}
				v = v*8 + (c - '0')
			}
			if okOct {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
