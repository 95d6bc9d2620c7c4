package locking

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

func TestParseRedisURL(t *testing.T) {
	for _, tc := range []struct {
		url   string
		kind  string // simple, failover, cluster
		addrs []string
		user  string
		pass  string
		db    int
		tls   bool
		other string // master name
	}{
		{url: "redis://localhost:6380/2", kind: "simple", addrs: []string{"localhost:6380"}, db: 2},
		{url: "redis://u:p%40ss@h", kind: "simple", addrs: []string{"h:6379"}, user: "u", pass: "p@ss"},
		{url: "rediss://:pw@h:1", kind: "simple", addrs: []string{"h:1"}, pass: "pw", tls: true},
		{url: "unix:///run/redis.sock?db=3", kind: "simple", addrs: []string{"/run/redis.sock"}, db: 3},
		{url: "unix://:pw@/run/redis.sock", kind: "simple", addrs: []string{"/run/redis.sock"}, pass: "pw"},
		{url: "redis+sentinel://:pw@s1:26379,s2:26380/mymaster/1", kind: "failover", addrs: []string{"s1:26379", "s2:26380"}, pass: "pw", db: 1, other: "mymaster"},
		{url: "rediss+sentinel://s1:26379/m", kind: "failover", addrs: []string{"s1:26379"}, tls: true, other: "m"},
		{url: "redis+cluster://u:pw@a:1,b:2,c:3", kind: "cluster", addrs: []string{"a:1", "b:2", "c:3"}, user: "u", pass: "pw"},
		{url: "redis://a:1?addr=b:2&addr=c:3", kind: "cluster", addrs: []string{"a:1", "b:2", "c:3"}},
	} {
		t.Run(tc.url, func(t *testing.T) {
			c, err := ParseRedisURL(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			var kind, user, pass, master string
			var addrs []string
			var db, retries int
			var tls, ctxTO bool
			switch {
			case c.Simple != nil:
				kind, addrs, user, pass, db, tls, retries, ctxTO = "simple", []string{c.Simple.Addr}, c.Simple.Username, c.Simple.Password, c.Simple.DB, c.Simple.TLSConfig != nil, c.Simple.MaxRetries, c.Simple.ContextTimeoutEnabled
			case c.Failover != nil:
				o := c.Failover
				kind, addrs, user, pass, db, tls, retries, master, ctxTO = "failover", o.SentinelAddrs, o.Username, o.Password, o.DB, o.TLSConfig != nil, o.MaxRetries, o.MasterName, o.ContextTimeoutEnabled
			case c.Cluster != nil:
				o := c.Cluster
				kind, addrs, user, pass, tls, retries, ctxTO = "cluster", o.Addrs, o.Username, o.Password, o.TLSConfig != nil, o.MaxRetries, o.ContextTimeoutEnabled
			}
			if kind != tc.kind || strings.Join(addrs, ",") != strings.Join(tc.addrs, ",") || user != tc.user || pass != tc.pass || db != tc.db || tls != tc.tls || master != tc.other {
				t.Fatalf("got %s %v user %q pass %q db %d tls %v master %q; want %s %v %q %q %d %v %q",
					kind, addrs, user, pass, db, tls, master, tc.kind, tc.addrs, tc.user, tc.pass, tc.db, tc.tls, tc.other)
			}
			if retries != -1 || !ctxTO {
				t.Fatalf("MaxRetries %d, ContextTimeoutEnabled %v; want -1, true", retries, ctxTO)
			}
		})
	}
}

const secret = "hunter2-Zq9"

func TestPasswordNeverInErrors(t *testing.T) {
	for _, u := range []string{
		"redis://user:" + secret + "@host:notaport",
		"redis://:" + secret + "@h/notadb",
		"ftp://:" + secret + "@h",
		"redis+sentinel://:" + secret + "@h:1",
		"redis+cluster://:" + secret + "@h:1/3",
		"redis://:" + secret + "@h?dial_timeout=x",
		"redis://h?password=" + secret + "&bogus=1",
		"redis+sentinel://h:1/m?sentinel_password=" + secret + "&bogus=%zz",
		"rediss://:" + secret + "@h?tls_ca_file=/nonexistent",
		"redis://:" + secret + "%zz@h",
	} {
		_, err := ParseRedisURL(u)
		if err == nil {
			t.Errorf("ParseRedisURL(%s) succeeded; want an error", RedactURL(u))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error shows the password: %v", err)
		}
		if r := RedactURL(u); strings.Contains(r, secret) {
			t.Errorf("RedactURL(...) = %s; shows the password", r)
		}
	}
	if got := RedactURL("redis://u:" + secret + "@h:1/0?password=" + secret); got != "redis://u:xxxxx@h:1/0?password=xxxxx" {
		t.Errorf("RedactURL = %s", got)
	}

	// A wrong password against a real server: the failure names neither.
	r := testrig.StartRedis(t, "--requirepass", "right-"+secret)
	c, err := NewClient("redis://:wrong-" + secret + "@" + r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = NewRedisLocker(c, "v").Acquire(ctxTimeout(t, 2*time.Second), "k", time.Second)
	if err == nil || strings.Contains(err.Error(), secret) {
		t.Fatalf("Acquire with a wrong password: %v; want an error without the password", err)
	}
	if errors.Is(err, ErrNotObtained) {
		t.Fatalf("Acquire with a wrong password: %v; want an authentication error, not ErrNotObtained", err)
	}
	t.Logf("wrong password: %v", err)
	good, err := NewClient("redis://:right-" + secret + "@" + r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer good.Close()
	le, err := NewRedisLocker(good, "v").Acquire(ctxTimeout(t, 2*time.Second), "k", time.Second)
	if err != nil {
		t.Fatalf("Acquire with the right password: %v", err)
	}
	le.Release(context.Background(), nil, "k")
}

func TestURLForms(t *testing.T) {
	r := needRedis(t)
	tlsPlain := testrig.StartRedisTLS(t, false)
	tlsCerts := testrig.StartRedisTLS(t, true)
	for _, tc := range []struct{ name, url string }{
		{"redis", r.URL()},
		{"unix", r.SocketURL()},
		{"rediss", tlsPlain.URL()},
		{"rediss with client certificate", tlsCerts.URL()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			l := NewRedisLocker(c, uniqueVolume(t))
			ctx := ctxTimeout(t, 5*time.Second)
			le, err := l.Acquire(ctx, "k", time.Second)
			if err != nil {
				t.Fatalf("Acquire via %s: %v", RedactURL(tc.url), err)
			}
			if err := le.Release(ctx, nil, "k"); err != nil {
				t.Fatal(err)
			}
		})
	}
	// Without the CA the server's certificate is not trusted.
	c, err := NewClient(strings.Split(tlsPlain.URL(), "?")[0])
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := NewRedisLocker(c, "v").Acquire(ctxTimeout(t, time.Second), "k", time.Second); err == nil {
		t.Fatalf("Acquire over TLS without the test CA succeeded; want a certificate error")
	}
}

// TestPasswordWithURLDelimitersNeverShown: a password pasted into the URL
// without percent-encoding may hold '/', '?' or '#', which end the authority
// of a URL; neither RedactURL nor a parse error may show it, or any piece of
// it.
func TestPasswordWithURLDelimitersNeverShown(t *testing.T) {
	for _, pass := range []string{"se/cr3t-pw", "se?cr3t-pw", "se#cr3t-pw", "se/cr?3t#pw", "/secr3t-pw"} {
		for _, u := range []string{
			"redis://:" + pass + "@host:6379",
			"redis://user:" + pass + "@host:6379/0",
			"rediss://:" + pass + "@host",
			"redis+sentinel://:" + pass + "@s1:26379/m",
			"redis+cluster://u:" + pass + "@a:1,b:2",
		} {
			// The pieces of the password between its delimiters, each long
			// enough not to match by chance.
			var pieces []string
			for _, p := range strings.FieldsFunc(pass, func(r rune) bool { return strings.ContainsRune("/?#", r) }) {
				if len(p) >= 3 {
					pieces = append(pieces, p)
				}
			}
			show := func(what, s string) {
				t.Helper()
				for _, p := range pieces {
					if strings.Contains(s, p) {
						t.Errorf("%s for a URL with password %q shows %q: %s", what, pass, p, s)
					}
				}
			}
			show("RedactURL", RedactURL(u))
			if _, err := ParseRedisURL(u); err != nil {
				show("ParseRedisURL error", err.Error())
			}
		}
	}
}

// A Redis URL with a mistyped scheme (no "://") keeps its password out of the
// parse error and out of RedactURL: all before the last '@' counts as secret.
func TestRedactMistypedScheme(t *testing.T) {
	const secret = "s3cretPassw0rd"
	for _, u := range []string{
		"redis:/user:" + secret + "@host:6379",
		"redis//:" + secret + "@host:6379",
		":" + secret + "@host:6379",
	} {
		_, err := ParseRedisURL(u)
		if err == nil {
			t.Fatalf("ParseRedisURL(%q) = nil error", u)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseRedisURL error leaks the password: %v", err)
		}
		if s := RedactURL(u); strings.Contains(s, secret) {
			t.Errorf("RedactURL(%q) = %q: password left in", u, s)
		}
	}
}

// TestURLMistakesRefused: a port out of range or a unix:// path that is not
// absolute is a mistake in the URL, refused when it is parsed. The client
// accepted both and failed only when dialling (a port of any number of
// digits; unix://tmp/r.sock dialled /r.sock), which read as Redis being
// unreachable after the whole timeout.
func TestURLMistakesRefused(t *testing.T) {
	for _, u := range []string{
		"redis://:" + secret + "@127.0.0.1:99999",
		"redis://127.0.0.1:0",
		"rediss://h:65536/1",
		"redis+cluster://a:1,b:70000",
		"redis://a:1?addr=b:123456",
		"redis+sentinel://s1:26379,s2:99999/m",
		"unix://tmp/r.sock",
		"unix://:" + secret + "@tmp/r.sock",
	} {
		_, err := ParseRedisURL(u)
		if err == nil {
			t.Errorf("ParseRedisURL(%s) = nil error; want the mistake named", RedactURL(u))
			continue
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("ParseRedisURL error shows the password: %v", err)
		}
		if !strings.Contains(err.Error(), "port") && !strings.Contains(err.Error(), "absolute") {
			t.Errorf("ParseRedisURL(%s) = %v; want the port or the path named", RedactURL(u), err)
		}
	}
	for _, u := range []string{"redis://h:65535", "redis://[::1]:6379", "redis+cluster://a:1,b:2", "unix:///tmp/r.sock"} {
		if _, err := ParseRedisURL(u); err != nil {
			t.Errorf("ParseRedisURL(%s) = %v; want it accepted", u, err)
		}
	}
}

// DialWithin bounds the dial timeout by a command's time, unless the URL sets
// its own; the URL still parses, with that timeout.
func TestDialWithin(t *testing.T) {
	for _, tc := range []struct {
		url  string
		d    time.Duration
		want string
		dial time.Duration // the parsed dial timeout (0: go-redis's default)
	}{
		{"redis://h:1", time.Second, "redis://h:1?dial_timeout=1s", time.Second},
		{"redis://:p%3Fw@h:1/2?pool_size=3", 1500 * time.Millisecond, "redis://:p%3Fw@h:1/2?pool_size=3&dial_timeout=1.5s", 1500 * time.Millisecond},
		{"redis+sentinel://a:1,b:2/m?", time.Second, "redis+sentinel://a:1,b:2/m?dial_timeout=1s", time.Second},
		{"redis://h:1?dial_timeout=3s", time.Second, "redis://h:1?dial_timeout=3s", 3 * time.Second},
		{"redis://h:1", 0, "redis://h:1", 0},
		{"redis://h:1", time.Minute, "redis://h:1", 0},
	} {
		got := DialWithin(tc.url, tc.d)
		if got != tc.want {
			t.Errorf("DialWithin(%q, %v) = %q; want %q", tc.url, tc.d, got, tc.want)
			continue
		}
		c, err := ParseRedisURL(got)
		if err != nil {
			t.Errorf("ParseRedisURL(%q): %v", got, err)
			continue
		}
		var dial time.Duration
		switch {
		case c.Simple != nil:
			dial = c.Simple.DialTimeout
		case c.Failover != nil:
			dial = c.Failover.DialTimeout
		}
		if tc.dial != 0 && dial != tc.dial {
			t.Errorf("%q: dial timeout %v; want %v", got, dial, tc.dial)
		}
	}
}
