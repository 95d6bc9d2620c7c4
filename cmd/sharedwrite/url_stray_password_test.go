package main

import (
	"strings"
	"testing"
	"unicode"
)

// User information whose "@host" was left off ("redis://:PASSWORD") reads to
// a URL parser as a host and a port that is not a number; the refusal (exit
// 2) must not quote that "port" any more than a password, nor any piece of
// it: the parser cuts it at a '/', '?', '#', ',', ']' or ':', and a number
// over 65535 is no port either.
func TestRedisURLWithoutHostHidesPassword(t *testing.T) {
	const secret = "hunter2-Vx7"
	root := t.TempDir()
	for _, tc := range []struct{ url, pass string }{
		{"redis://:" + secret, secret},
		{"redis://default:" + secret, secret},
		{"rediss://alice:" + secret + "/0", secret},
		{"redis://alice:" + secret + "?db=1", secret},
		{"redis+sentinel://alice:" + secret + "/mymaster", secret},
		{"redis+cluster://alice:" + secret + ",h2:1", secret},
		{"redis://user:hunterZZ/2xQQ", "hunterZZ/2xQQ"},
		{"redis://user:hunZZ]terQQ2", "hunZZ]terQQ2"},
		{"redis://:123456", "123456"},
		{"redis://user:cmmaAA,cretZZ", "cmmaAA,cretZZ"},
		{"redis://:hshBB#cretZZ", "hshBB#cretZZ"},
		{"redis://user:qmkCC?xDDD=1YYY", "qmkCC?xDDD=1YYY"},
		{"rediss://alice:hunZZ/2x?QQ#kkWW,ppYY]zzVV", "hunZZ/2x?QQ#kkWW,ppYY]zzVV"},
		{"redis://user:pwQQ\"ZZWW\\bsVV", "pwQQ\"ZZWW\\bsVV"},
		{"redis+cluster://alice:seQQ,crWW:etZZ", "seQQ,crWW:etZZ"},
		{"redis+sentinel://alice:hunterZZ/2xQQ/mymaster", "hunterZZ/2xQQ"},
		{"redis://user:coloAA:nsecZZ", "coloAA:nsecZZ"},
	} {
		// The password, and each run of its letters and digits long enough
		// not to match by chance.
		pieces := []string{tc.pass}
		for _, f := range strings.FieldsFunc(tc.pass, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
			if len(f) >= 4 {
				pieces = append(pieces, f)
			}
		}
		for _, env := range [][]string{nil, {"SHAREDWRITE_REDIS=" + tc.url}} {
			args := []string{"--root", root, "--log-level", "debug", "--timeout", "2s", "write", "f"}
			if env == nil {
				args = append([]string{"--redis", tc.url}, args...)
			}
			r := runCLI(t, env, "data\n", args...)
			if r.code != 2 {
				t.Errorf("%s: exit %d; want 2 (a mistake in the URL); stderr %s", tc.url, r.code, r.stderr)
			}
			for _, p := range pieces {
				if strings.Contains(r.stderr+r.stdout, p) {
					t.Errorf("%s: output shows %q of the password: %s%s", tc.url, p, r.stdout, r.stderr)
				}
			}
		}
	}
}
