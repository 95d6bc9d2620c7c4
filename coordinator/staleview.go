package coordinator

import (
	"strconv"
	"strings"
	"time"
)

// coherentFS lists filesystem types whose page and attribute caches are coherent
// on one host: a rename is seen at once, so the stale-view window is zero.
var coherentFS = map[string]bool{
	"ext2": true, "ext3": true, "ext4": true, "xfs": true, "btrfs": true, "tmpfs": true,
	"overlay": true, "zfs": true, "f2fs": true, "ramfs": true, "apfs": true, "hfs": true,
}

// staleWindowFor derives the stale-view window from a filesystem type and its
// mount options: twice the longest attribute or lookup cache time they allow.
// On NFS each of acregmin, acregmax, acdirmin and acdirmax keeps its default
// (3, 60, 30, 60 s) unless the options set it (actimeo sets all four, noac
// none): Linux lists only the values that differ from the defaults. FUSE
// filesystems do not show their daemon's cache options, so they are unknown
// (DefaultUnknownStaleWindow).
func staleWindowFor(fstype string, options []string) time.Duration {
	if coherentFS[fstype] {
		return 0
	}
	if strings.HasPrefix(fstype, "nfs") {
		return nfsStaleWindow(options)
	}
	var longest time.Duration
	known := false
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		if !ok {
			if k == "noac" {
				known = true
			}
			continue
		}
		switch k {
		case "actimeo", "acregmax", "acdirmax", "acregmin", "acdirmin",
			"attr_timeout", "entry_timeout", "negative_timeout", "dcache_timeout", "cache_timeout":
			if d, ok := optSeconds(v); ok {
				known = true
				longest = max(longest, d)
			}
		}
	}
	if !known {
		return DefaultUnknownStaleWindow
	}
	return 2 * longest
}

// nfsStaleWindow is staleWindowFor for an NFS mount's options.
func nfsStaleWindow(options []string) time.Duration {
	times := map[string]time.Duration{
		"acregmin": 3 * time.Second, "acregmax": 60 * time.Second,
		"acdirmin": 30 * time.Second, "acdirmax": 60 * time.Second,
	}
	for _, o := range options {
		k, v, ok := strings.Cut(o, "=")
		switch {
		case !ok && k == "noac":
			for t := range times {
				times[t] = 0
			}
		case !ok:
		case k == "actimeo":
			if d, ok := optSeconds(v); ok {
				for t := range times {
					times[t] = d
				}
			}
		default:
			if _, listed := times[k]; listed {
				if d, ok := optSeconds(v); ok {
					times[k] = d
				}
			}
		}
	}
	var longest time.Duration
	for _, d := range times {
		longest = max(longest, d)
	}
	return 2 * longest
}

// optSeconds parses a mount option's value in seconds.
func optSeconds(v string) (time.Duration, bool) {
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0, false
	}
	return time.Duration(f * float64(time.Second)), true
}
