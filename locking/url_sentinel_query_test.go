package locking

import (
	"strings"
	"testing"
)

// A Sentinel URL's password or user name given as a query option, as the
// other forms refuse it, is refused too: the one in the user information
// (absent here) would otherwise replace it, and the client would connect
// without the password the caller gave. The error never shows it.
func TestSentinelURLRefusesPasswordOption(t *testing.T) {
	for _, u := range []string{
		"redis+sentinel://s1:26379/m?password=qq9secret",
		"redis+sentinel://s1:26379/m?username=app&password=qq9secret",
		"redis+sentinel://s1:26379/m?username=app",
	} {
		c, err := ParseRedisURL(u)
		if err == nil {
			t.Errorf("ParseRedisURL(%q) = user %q, password set %v; want an error naming the option", u, c.Failover.Username, c.Failover.Password != "")
			continue
		}
		if strings.Contains(err.Error(), "qq9secret") || !strings.Contains(err.Error(), "unexpected option") {
			t.Errorf("ParseRedisURL(%q): %v; want it to name the unexpected option and not show the password", u, err)
		}
	}
}
