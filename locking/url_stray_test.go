package locking

import (
	"strconv"
	"strings"
	"testing"
	"unicode"
)

// strayShapes are URLs whose user information lost its "@host", each with
// the text that reads as its password: a URL parser takes that for a port,
// cut at the first '/', '?', '#', ',' or ']' in it, or too large a number.
var strayShapes = []struct{ url, pass string }{
	{"redis://user:hunterZZ/2xQQ", "hunterZZ/2xQQ"},
	{"redis://user:hunterZZ/2xQQ/3", "hunterZZ/2xQQ/3"},
	{"redis://user:hunZZ]terQQ2", "hunZZ]terQQ2"},
	{"redis://:123456", "123456"},
	{"redis://:6379999", "6379999"},
	{"redis://user:cmmaAA,cretZZ", "cmmaAA,cretZZ"},
	{"redis://:hshBB#cretZZ", "hshBB#cretZZ"},
	{"redis://user:qmkCC?xDDD=1YYY", "qmkCC?xDDD=1YYY"},
	{"redis://user:qmkCC?xDDD=1YYY&bEEE=2", "qmkCC?xDDD=1YYY&bEEE=2"},
	{"rediss://alice:hunZZ/2x?QQ#kkWW,ppYY]zzVV", "hunZZ/2x?QQ#kkWW,ppYY]zzVV"},
	{"redis://user:pwQQ\"ZZWW\\bsVV", "pwQQ\"ZZWW\\bsVV"},
	{"redis+cluster://alice:seQQ,crWW:etZZ", "seQQ,crWW:etZZ"},
	{"redis+sentinel://alice:seQQ,crWW:etZZ/mymaster", "seQQ,crWW:etZZ/mymaster"},
	{"redis+sentinel://alice:hunterZZ/2xQQ/mymaster", "hunterZZ/2xQQ/mymaster"},
	{"redis+sentinel://s1:26379,s2:99999/m", "26379,s2:99999/m"},
	{"redis://[user:pwZZQQ", "pwZZQQ"},
	{"redis://user:coloAA:nsecZZ", "coloAA:nsecZZ"},
	{"redis://:coloAA:nsecZZ/0", "coloAA:nsecZZ/0"},
}

// fragments returns the runs of letters and digits of pass at least four
// long: each tells a piece of the password apart from the rest of a message.
func fragments(pass string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(pass, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if len(f) >= 4 {
			out = append(out, f)
		}
	}
	return out
}

// TestStrayPasswordNeverShown: user information without its "@host" reads as
// a host whose port is not a number; neither RedactURL nor the parse error
// shows any piece of what would be its password, however the parser cut it.
func TestStrayPasswordNeverShown(t *testing.T) {
	for _, tc := range strayShapes {
		if got := RedactURL(tc.url); got != strings.TrimSuffix(tc.url, tc.pass)+"xxxxx" {
			t.Errorf("RedactURL(%q) = %q; want all after the first ':' redacted", tc.url, got)
		}
		_, err := ParseRedisURL(tc.url)
		if err == nil {
			t.Errorf("ParseRedisURL(%q) succeeded; want an error", tc.url)
			continue
		}
		if !strings.Contains(err.Error(), "port") && !strings.HasPrefix(tc.url, "redis://[") {
			t.Errorf("ParseRedisURL(%q) = %v; want the port named", tc.url, err)
		}
		for _, f := range fragments(tc.pass) {
			if strings.Contains(err.Error(), f) {
				t.Errorf("ParseRedisURL(%q) error shows %q: %v", tc.url, f, err)
			}
		}
	}
}

// TestScrubStrayPassword: scrub removes a stray password from a message
// whole, and each part of it a parser may quote, cut before a '/', '?', '#',
// ',', ']' or ':', or after a ':', also as a query or a Go string literal
// quotes it.
func TestScrubStrayPassword(t *testing.T) {
	for _, tc := range []struct{ url, msg, want string }{
		{"redis://user:hunterZZ/2xQQ", `parse "redis://user:hunterZZ/2xQQ": invalid port ":hunterZZ" after host`,
			`parse "redis://user:xxxxx": invalid port ":xxxxx" after host`},
		{"redis://user:hunZZ]terQQ2", `invalid port ":hunZZ]terQQ2"; host "user:hunZZ"`,
			`invalid port ":xxxxx"; host "user:xxxxx"`},
		{"redis://:123456", `address "localhost:123456": port "123456" is not a number from 1 to 65535`,
			`address "localhost:xxxxx": port "xxxxx" is not a number from 1 to 65535`},
		{"redis://user:cmmaAA,cretZZ", `"cmmaAA,cretZZ" "cmmaAA%2CcretZZ" "cmmaAA"`, `"xxxxx" "xxxxx" "xxxxx"`},
		{"redis://:hshBB#cretZZ", `parse "redis://:hshBB": invalid port ":hshBB" after host`,
			`parse "redis://:xxxxx": invalid port ":xxxxx" after host`},
		{"redis://user:qmkCC?x=1", `parse "redis://user:qmkCC/?x=1": invalid port ":qmkCC" after host`,
			`parse "redis://user:xxxxx/?x=1": invalid port ":xxxxx" after host`},
		{"redis://user:pwQQ\"ZZWW", "port " + strconv.Quote(":pwQQ\"ZZWW"), `port ":xxxxx"`},
		{"redis://user:a/b/c", "a/b/c a/b a", "xxxxx xxxxx xxxxx"},
		{"redis://user:coloAA:nsecZZ", `invalid port ":nsecZZ" after host "user:coloAA"`,
			`invalid port ":xxxxx" after host "user:xxxxx"`},
		{"redis://user:aa:bb:cc/dd", "aa:bb:cc/dd aa:bb bb:cc cc/dd cc", "xxxxx xxxxx xxxxx xxxxx xxxxx"},
	} {
		if got := scrub(tc.msg, tc.url); got != tc.want {
			t.Errorf("scrub(%q, %q) = %q; want %q", tc.msg, tc.url, got, tc.want)
		}
	}
}

// TestValidURLsNotRedacted: a URL whose ports are all numbers from 1 to
// 65535, or whose user information is whole, is no stray password: RedactURL
// leaves it (but a password) alone, and scrub leaves a message about it alone.
func TestValidURLsNotRedacted(t *testing.T) {
	for _, tc := range []struct{ url, want string }{
		{"redis://host:6379/0", ""},
		{"redis://:6379", ""},
		{"redis://host", ""},
		{"redis://h:65535", ""},
		{"rediss://host:6380/1?dial_timeout=1s", ""},
		{"redis://[::1]:6379", ""},
		{"redis://[::1]/2", ""},
		{"redis+sentinel://s1:26379,s2:26380/mymaster/1", ""},
		{"rediss+sentinel://s1:26379/m", ""},
		{"redis+cluster://a:1,b:2,c:3", ""},
		{"redis+cluster://[::1]:7000,[::2]:7001", ""},
		{"redis://a:1?addr=b:2&addr=c:3", ""},
		{"unix:///run/redis.sock?db=3", ""},
		{"redis://u:pw@h:1/0", "redis://u:xxxxx@h:1/0"},
		{"redis+cluster://u:pw@a:1,b:2", "redis+cluster://u:xxxxx@a:1,b:2"},
		{"unix://:pw@/run/redis.sock", "unix://:xxxxx@/run/redis.sock"},
		{"redis+sentinel://s1:26379/m?sentinel_password=pw", "redis+sentinel://s1:26379/m?sentinel_password=xxxxx"},
	} {
		want := tc.want
		if want == "" {
			want = tc.url
		}
		if got := RedactURL(tc.url); got != want {
			t.Errorf("RedactURL(%q) = %q; want %q", tc.url, got, want)
		}
		if _, ok := strayPassword(tc.url); ok {
			t.Errorf("strayPassword(%q) found one", tc.url)
		}
		const msg = "dial tcp host:6379 (localhost:1, 26379): connection refused"
		if got := scrub(msg, tc.url); got != msg {
			t.Errorf("scrub(%q, %q) = %q", msg, tc.url, got)
		}
		if _, err := ParseRedisURL(tc.url); err != nil {
			t.Errorf("ParseRedisURL(%q) = %v; want it accepted", tc.url, err)
		}
	}
}
