package locking

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisConfig is a parsed Redis URL: exactly one of Simple, Failover and
// Cluster is set.
type RedisConfig struct {
	Simple   *redis.Options
	Failover *redis.FailoverOptions
	Cluster  *redis.ClusterOptions
}

// NewClient returns the client the configuration describes.
func (c *RedisConfig) NewClient() redis.UniversalClient {
	switch {
	case c.Failover != nil:
		fc := redis.NewFailoverClient(c.Failover)
		fc.AddHook(unknownMasterHook{master: c.Failover.MasterName})
		return fc
	case c.Cluster != nil:
		return redis.NewClusterClient(c.Cluster)
	}
	return redis.NewClient(c.Simple)
}

// unknownMasterHook names the master in the error of a master lookup that
// the sentinels answered without an address (they do not monitor that name).
// go-redis's error says that "all sentinels specified in configuration are
// unreachable" whatever the sentinels did: it joins each one's error, redis.Nil
// for one that answered, a dial error for one that did not.
type unknownMasterHook struct{ master string }

func (h unknownMasterHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		switch {
		case err == nil:
		case errors.Is(err, redis.Nil):
			err = &unknownMasterError{master: h.master, err: err}
		default:
			if hint := sentinelRefusal(err); hint != "" {
				err = &sentinelRefusedError{hint: hint, err: err}
			}
		}
		return conn, err
	}
}

func (unknownMasterHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook { return next }

func (unknownMasterHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

// unknownMasterError is go-redis's error of a master lookup in which some
// sentinels answered that they do not know the master. It unwraps to that
// error, so errors.Is still finds redis.Nil (a reply: Redis was reached) and
// the errors of the sentinels that did not answer.
type unknownMasterError struct {
	master string
	err    error
}

func (e *unknownMasterError) Error() string {
	msg := "sentinel: master " + quoteName(e.master) + " is unknown to the sentinels that answered"
	var others []string
	for _, err := range joinedErrors(e.err) {
		if !errors.Is(err, redis.Nil) {
			others = append(others, err.Error())
		}
	}
	if len(others) > 0 {
		msg += "; the others: " + strings.Join(others, "; ")
	}
	return msg
}

func (e *unknownMasterError) Unwrap() error { return e.err }

// sentinelRefusal says what a master lookup's error tells of a sentinel that
// answered with an error reply, "" when none did: a refusal of the sentinel
// credentials, or a server that is not a sentinel (a Redis server's port in
// a Sentinel URL).
func sentinelRefusal(err error) string {
	for _, e := range joinedErrors(err) {
		var reply redis.Error
		if !errors.As(e, &reply) {
			continue
		}
		msg := reply.Error()
		switch {
		case strings.HasPrefix(msg, "WRONGPASS"), strings.HasPrefix(msg, "NOAUTH"):
			return "a sentinel refused the sentinel credentials (sentinel_username, sentinel_password in the URL's query)"
		case strings.Contains(msg, "unknown command 'sentinel'"):
			return "an address in the URL is not a sentinel but a Redis server (a Sentinel URL names the sentinels, by default on port 26379)"
		}
	}
	return ""
}

// joinedErrors returns the errors err joins (go-redis joins each
// sentinel's), or err alone.
func joinedErrors(err error) []error {
	var joined interface{ Unwrap() []error }
	if errors.As(err, &joined) {
		return joined.Unwrap()
	}
	return []error{err}
}

// sentinelRefusedError is go-redis's error of a master lookup in which a
// sentinel answered with an error reply; hint says what it means. It
// unwraps to that error.
type sentinelRefusedError struct {
	hint string
	err  error
}

func (e *sentinelRefusedError) Error() string {
	var replies []string
	for _, err := range joinedErrors(e.err) {
		replies = append(replies, err.Error())
	}
	return "sentinel: " + e.hint + ": " + strings.Join(replies, "; ")
}

func (e *sentinelRefusedError) Unwrap() error { return e.err }

// NewClient parses a Redis URL (see ParseRedisURL) and returns its client.
func NewClient(rawURL string) (redis.UniversalClient, error) {
	c, err := ParseRedisURL(rawURL)
	if err != nil {
		return nil, err
	}
	return c.NewClient(), nil
}

// ParseRedisURL parses the Redis URL forms sharedwrite accepts:
//
//	redis://[user:password@]host[:port][/db][?option=value...]
//	rediss://...                             TLS
//	unix://[user:password@]/path/to/socket[?db=N&...]
//	redis+sentinel://[user:password@]host:port[,host:port...]/mastername[/db][?...]
//	rediss+sentinel://...                    TLS to sentinels and master
//	redis+cluster://[user:password@]host:port[,host:port...][?...]
//	rediss+cluster://...                     TLS
//	redis://host:port?addr=host2:port2&addr=host3:port3   go-redis's cluster form
//
// The user and password authenticate to Redis (for Sentinel: to the master and
// replicas; the sentinels' own credentials go in sentinel_username and
// sentinel_password). Options are go-redis's query parameters (dial_timeout,
// read_timeout, max_retries, pool_size, ...) plus tls_ca_file, tls_cert_file,
// tls_key_file (PEM) and tls_server_name for rediss, where skip_verify=true
// turns certificate verification off (in every form).
//
// Unless the URL sets max_retries, client-side retries are off (MaxRetries -1):
// the locker retries within the caller's deadline itself, and a blind resend
// of a lease script is never what the caller meant. For the same reason a
// Sentinel client dials once per attempt unless the URL sets dialer_retries.
// Context deadlines bound every call (ContextTimeoutEnabled). Errors never
// contain the password.
func ParseRedisURL(rawURL string) (*RedisConfig, error) {
	c, err := parseRedisURL(rawURL)
	if err != nil {
		msg := scrub(err.Error(), rawURL)
		if pass, ok := userinfoPassword(rawURL); ok && strings.ContainsAny(pass, "/?#") {
			// The parser split the password at one of these, and its message
			// may quote any piece of it.
			msg = "the password holds '/', '?' or '#': percent-encode them (%2F, %3F, %23)"
		} else if pass, ok := strayPassword(rawURL); ok && strings.ContainsAny(pass, strayCuts) {
			// Likewise for what reads as a password without its "@host":
			// the parser split it, and may quote any piece of it (query
			// escaped, when the piece went to the query).
			msg = `a port is not a number from 1 to 65535, or "user:password" lacks its "@host" (percent-encode '/', '?', '#', ',', ']' and ':' in a password)`
		}
		return nil, &Error{Op: "parse redis URL", Key: RedactURL(rawURL), Err: errors.New(msg)}
	}
	return c, nil
}

// DialWithin returns rawURL with its dial timeout (go-redis's default: 5 s)
// at most d, unless the URL sets dial_timeout itself or d is 0. A command
// given d to finish in must not wait longer for a connection: go-redis dials
// (and greets) a server, and looks a Sentinel master up from every sentinel
// listed, under the dial timeout alone, whatever the caller's deadline.
func DialWithin(rawURL string, d time.Duration) string {
	if d <= 0 || d >= defaultDialTimeout {
		return rawURL
	}
	base, rawQuery, _ := strings.Cut(rawURL, "?")
	if q, err := url.ParseQuery(rawQuery); err != nil || q.Has("dial_timeout") {
		return rawURL
	}
	if rawQuery != "" {
		rawQuery += "&"
	}
	return base + "?" + rawQuery + "dial_timeout=" + d.String()
}

// defaultDialTimeout is go-redis's dial timeout when none is set.
const defaultDialTimeout = 5 * time.Second

type tlsFiles struct {
	ca, cert, key, serverName string
	// skipVerify is go-redis's skip_verify: certificate verification off.
	// go-redis reads it only into the TLS configuration it builds, which
	// tlsFiles.config replaces (and its cluster form does not know it).
	skipVerify bool
}

func parseRedisURL(rawURL string) (*RedisConfig, error) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		return nil, errors.New("missing scheme (want redis://, rediss://, unix://, redis+sentinel:// or redis+cluster://)")
	}
	base, kind, _ := strings.Cut(strings.ToLower(scheme), "+")
	if base != "redis" && base != "rediss" && base != "unix" {
		return nil, fmt.Errorf("unsupported scheme %q", scheme)
	}
	if base == "unix" && kind != "" {
		return nil, fmt.Errorf("unsupported scheme %q", scheme)
	}
	rest, rawQuery, _ := strings.Cut(rest, "?")
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("query: %v", err)
	}
	var tf tlsFiles
	for name, dst := range map[string]*string{"tls_ca_file": &tf.ca, "tls_cert_file": &tf.cert, "tls_key_file": &tf.key, "tls_server_name": &tf.serverName} {
		*dst = q.Get(name)
		q.Del(name)
	}
	if q.Has("skip_verify") {
		if tf.skipVerify, err = strconv.ParseBool(q.Get("skip_verify")); err != nil {
			return nil, fmt.Errorf("skip_verify %q: want true or false", q.Get("skip_verify"))
		}
		q.Del("skip_verify")
		if base != "rediss" {
			return nil, errors.New("skip_verify needs rediss://")
		}
	}
	sentinelUser, sentinelPass := q.Get("sentinel_username"), q.Get("sentinel_password")
	q.Del("sentinel_username")
	q.Del("sentinel_password")
	retriesSet := q.Has("max_retries")
	dialerRetriesSet := q.Has("dialer_retries")
	ctxTimeout := q.Get("context_timeout_enabled") != "false" && q.Get("context_timeout_enabled") != "0"
	q.Del("context_timeout_enabled")

	// userinfo: everything before the last '@' of the authority.
	authority, path, _ := strings.Cut(rest, "/")
	if base == "unix" {
		// unix://[user:password@]/absolute/path: the path starts with "/",
		// and may itself hold '@' (/run/redis@main/redis.sock). User
		// information, when there is any, ends at the first "@/".
		authority, path = "", rest
		if !strings.HasPrefix(rest, "/") {
			if i := strings.Index(rest, "@/"); i >= 0 {
				authority, path = rest[:i], rest[i+1:]
			}
		}
		if !strings.HasPrefix(path, "/") {
			// unix://tmp/r.sock would dial /r.sock: the first component
			// reads as a host.
			return nil, errors.New("unix:// takes an absolute socket path: unix:///path/to/redis.sock")
		}
	}
	var user *url.Userinfo
	hosts := authority
	if base != "unix" {
		if i := strings.LastIndex(authority, "@"); i >= 0 {
			ui, err := url.Parse("redis://" + authority[:i+1] + "x")
			if err != nil {
				return nil, errors.New("bad user information")
			}
			user, hosts = ui.User, authority[i+1:]
		}
	} else if authority != "" {
		ui, err := url.Parse("redis://" + authority + "@x")
		if err != nil {
			return nil, errors.New("bad user information")
		}
		user = ui.User
	}
	username := user.Username()
	password, _ := user.Password()

	c := &RedisConfig{}
	switch kind {
	case "":
		if base == "unix" {
			u := "unix://" + path
			if enc := q.Encode(); enc != "" {
				u += "?" + enc
			}
			o, err := redis.ParseURL(u)
			if err != nil {
				return nil, err
			}
			c.Simple = o
		} else if q.Has("addr") {
			o, err := redis.ParseClusterURL(base + "://" + hosts + "/?" + q.Encode())
			if err != nil {
				return nil, err
			}
			c.Cluster = o
		} else {
			u := base + "://" + hosts + "/" + path
			if enc := q.Encode(); enc != "" {
				u += "?" + enc
			}
			o, err := redis.ParseURL(u)
			if err != nil {
				return nil, err
			}
			c.Simple = o
		}
	case "sentinel":
		list := strings.Split(hosts, ",")
		master, db, _ := strings.Cut(path, "/")
		if master == "" {
			return nil, errors.New("sentinel URL without a master name (redis+sentinel://host:port/mastername)")
		}
		for _, opt := range []string{"username", "password"} {
			if q.Has(opt) {
				// As the other forms (go-redis refuses it there): the user
				// information's, even when empty, would replace it.
				return nil, fmt.Errorf("redis: unexpected option: %s (the user name and password go before the host: redis+sentinel://user:password@host:port/mastername)", opt)
			}
		}
		q.Set("master_name", master)
		for _, h := range list[1:] {
			q.Add("addr", h)
		}
		o, err := redis.ParseFailoverURL(base + "://" + list[0] + "/" + db + "?" + q.Encode())
		if err != nil {
			return nil, err
		}
		o.SentinelUsername, o.SentinelPassword = sentinelUser, sentinelPass
		c.Failover = o
	case "cluster":
		list := strings.Split(hosts, ",")
		for _, h := range list[1:] {
			q.Add("addr", h)
		}
		if path != "" {
			return nil, errors.New("cluster URL with a path (Cluster has only database 0)")
		}
		u := base + "://" + list[0]
		if enc := q.Encode(); enc != "" {
			u += "?" + enc
		}
		o, err := redis.ParseClusterURL(u)
		if err != nil {
			return nil, err
		}
		c.Cluster = o
	default:
		return nil, fmt.Errorf("unsupported scheme %q", scheme)
	}

	if err := c.checkAddrs(); err != nil {
		return nil, err
	}
	var tc *tls.Config
	if base == "rediss" {
		tc, err = tf.config(firstHost(hosts))
		if err != nil {
			return nil, err
		}
	} else if tf != (tlsFiles{}) {
		return nil, errors.New("tls_* options need rediss://")
	}
	// The three option structs share these fields by name only, so each
	// hands over pointers to its own.
	common := func(user, pass *string, tlsConfig **tls.Config, maxRetries *int, ctxTimeoutEnabled *bool) {
		*user, *pass = username, password
		*tlsConfig = tc
		if !retriesSet {
			*maxRetries = -1
		}
		*ctxTimeoutEnabled = ctxTimeout
	}
	switch {
	case c.Simple != nil:
		o := c.Simple
		common(&o.Username, &o.Password, &o.TLSConfig, &o.MaxRetries, &o.ContextTimeoutEnabled)
	case c.Failover != nil:
		o := c.Failover
		common(&o.Username, &o.Password, &o.TLSConfig, &o.MaxRetries, &o.ContextTimeoutEnabled)
		if !dialerRetriesSet {
			// One dial per attempt: the master's dial looks the master up
			// from the sentinels, whose own dials go-redis retries too, and
			// those retries nested in the master's last until the deadline,
			// which then replaces the error (connection refused) in what the
			// caller sees. The locker retries at its own pace.
			o.DialerRetries = 1
		}
	case c.Cluster != nil:
		o := c.Cluster
		common(&o.Username, &o.Password, &o.TLSConfig, &o.MaxRetries, &o.ContextTimeoutEnabled)
	}
	return c, nil
}

// checkAddrs refuses a TCP address whose port is not 1-65535: the client
// would accept one of any number of digits and fail only when it dials, which
// reads as Redis being unreachable rather than as a mistake in the URL.
func (c *RedisConfig) checkAddrs() error {
	var addrs []string
	switch {
	case c.Simple != nil && c.Simple.Network != "unix":
		addrs = []string{c.Simple.Addr}
	case c.Failover != nil:
		addrs = c.Failover.SentinelAddrs
	case c.Cluster != nil:
		addrs = c.Cluster.Addrs
	}
	for _, a := range addrs {
		_, port, err := net.SplitHostPort(a)
		if err != nil {
			return fmt.Errorf("address %q: %v", a, err)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
			return fmt.Errorf("address %q: port %q is not a number from 1 to 65535", a, port)
		}
	}
	return nil
}

func firstHost(hosts string) string {
	h, _, _ := strings.Cut(hosts, ",")
	if u, err := url.Parse("redis://" + h); err == nil {
		return u.Hostname()
	}
	return h
}

func (f tlsFiles) config(host string) (*tls.Config, error) {
	tc := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12, InsecureSkipVerify: f.skipVerify}
	if f.serverName != "" {
		tc.ServerName = f.serverName
	}
	if f.ca != "" {
		pemCA, err := os.ReadFile(f.ca)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pemCA) {
			return nil, fmt.Errorf("tls_ca_file %s: no PEM certificate", f.ca)
		}
		tc.RootCAs = pool
	}
	if (f.cert == "") != (f.key == "") {
		return nil, errors.New("tls_cert_file and tls_key_file go together")
	}
	if f.cert != "" {
		cert, err := tls.LoadX509KeyPair(f.cert, f.key)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

// userinfoPassword returns the password of rawURL's user information, found
// conservatively: everything between the first ':' after "://" and the last
// '@', so that a password pasted without percent-encoding, holding '/', '?',
// '#' or '@', is still found whole. (An '@' in a query value makes it find
// more than the password; redacting too much is the safe side.)
//
// Without "://" (a mistyped scheme, "redis:/u:p@h") no part before the last
// '@' can be told from the password: all of it counts as the password.
func userinfoPassword(rawURL string) (string, bool) {
	_, rest, ok := strings.Cut(rawURL, "://")
	if !ok {
		i := strings.LastIndex(rawURL, "@")
		if i < 0 {
			return "", false
		}
		return rawURL[:i], true
	}
	i := strings.LastIndex(rest, "@")
	if i < 0 {
		return "", false
	}
	_, pass, ok := strings.Cut(rest[:i], ":")
	return pass, ok
}

// strayPassword returns, for a URL without any '@' after "://", everything
// after its first ':' when the port of one of its hosts (before the first '/',
// '?' or '#') is not a number from 1 to 65535: "redis://:PASSWORD" and
// "redis://user:PASSWORD" are user information with the "@host" left off,
// which a URL parser reads as a host and a port, and quotes. As with
// userinfoPassword, a password pasted without percent-encoding may hold '/',
// '?', '#', ',', ']' or ':', at which a parser cuts it: all the rest of the URL
// counts as the password.
func strayPassword(rawURL string) (string, bool) {
	scheme, rest, ok := strings.Cut(rawURL, "://")
	if !ok || strings.HasPrefix(strings.ToLower(scheme), "unix") || strings.Contains(rest, "@") {
		return "", false
	}
	_, pass, ok := strings.Cut(rest, ":")
	if !ok || pass == "" {
		return "", false
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	for _, h := range strings.Split(authority, ",") {
		if !hostPortValid(h) {
			return pass, true
		}
	}
	return "", false
}

// strayCuts are the bytes at which a parser ends a port, or splits a URL, so
// that its message may quote only part of a stray password: before one of
// them, or (for ':', the last one of which starts a port) after it.
const strayCuts = "/?#,]:"

// hostPortValid reports whether h, one host of a URL's authority, has no
// port or a port from 1 to 65535 (or 0, which checkAddrs names itself).
func hostPortValid(h string) bool {
	var port string
	if strings.HasPrefix(h, "[") {
		// An IPv6 literal's colons are not a port's.
		i := strings.Index(h, "]")
		if i < 0 {
			return false
		}
		rest := h[i+1:]
		if rest == "" {
			return true
		}
		if rest[0] != ':' {
			return false
		}
		port = rest[1:]
	} else if _, p, ok := strings.Cut(h, ":"); ok {
		port = p
	} else {
		return true
	}
	if len(port) == 0 || len(port) > 5 || strings.Trim(port, "0123456789") != "" {
		return false
	}
	n, _ := strconv.Atoi(port)
	return n <= 65535
}

var secretParams = []string{"password", "sentinel_password"}

// RedactURL returns the URL with its password (and any password query
// parameter) replaced by "xxxxx", for logs and error messages. It never fails:
// an unparseable URL is redacted textually.
func RedactURL(rawURL string) string {
	s := rawURL
	if _, ok := userinfoPassword(s); ok && !strings.Contains(s, "://") {
		s = "xxxxx" + s[strings.LastIndex(s, "@"):]
	} else if ok {
		scheme, rest, _ := strings.Cut(s, "://")
		i := strings.LastIndex(rest, "@")
		user, _, _ := strings.Cut(rest[:i], ":")
		s = scheme + "://" + user + ":xxxxx@" + rest[i+1:]
	}
	if pass, ok := strayPassword(s); ok {
		s = s[:len(s)-len(pass)] + "xxxxx"
	}
	if i := strings.Index(s, "?"); i >= 0 {
		if q, err := url.ParseQuery(s[i+1:]); err == nil {
			changed := false
			for _, p := range secretParams {
				if q.Has(p) {
					q.Set(p, "xxxxx")
					changed = true
				}
			}
			if changed {
				s = s[:i+1] + q.Encode()
			}
		} else {
			s = s[:i+1] + "..."
		}
	}
	return s
}

// scrub removes every secret of rawURL from msg, also as a query or a Go
// string literal quotes it.
func scrub(msg, rawURL string) string {
	var secs []string
	if pass, ok := strayPassword(rawURL); ok {
		// A parser may quote only a piece of it: one that starts at its
		// beginning or after a ':', and ends at its end or before one of
		// strayCuts. Longest first, so that no shorter one spares the rest
		// of a longer.
		starts, ends := []int{0}, []int{len(pass)}
		for i := 0; i < len(pass); i++ {
			if pass[i] == ':' {
				starts = append(starts, i+1)
			}
			if strings.IndexByte(strayCuts, pass[i]) >= 0 {
				ends = append(ends, i)
			}
		}
		for _, i := range starts {
			for _, j := range ends {
				if i < j {
					secs = append(secs, pass[i:j])
				}
			}
		}
		slices.SortStableFunc(secs, func(a, b string) int { return len(b) - len(a) })
	}
	for _, sec := range append(secs, secrets(rawURL)...) {
		if sec == "" {
			continue
		}
		q := strconv.Quote(sec)
		for _, form := range []string{sec, url.QueryEscape(sec), q[1 : len(q)-1]} {
			msg = strings.ReplaceAll(msg, form, "xxxxx")
		}
	}
	return msg
}

func secrets(rawURL string) []string {
	var out []string
	if pass, ok := userinfoPassword(rawURL); ok {
		if !strings.Contains(rawURL, "://") {
			// A message may quote only the part after a ':' of it.
			for p := pass; strings.Contains(p, ":"); {
				_, p, _ = strings.Cut(p, ":")
				out = append(out, p)
			}
		}
		out = append(out, pass)
		if p, err := url.PathUnescape(pass); err == nil {
			out = append(out, p)
		}
	}
	if i := strings.Index(rawURL, "?"); i >= 0 {
		if q, err := url.ParseQuery(rawURL[i+1:]); err == nil {
			for _, p := range secretParams {
				out = append(out, q[p]...)
			}
		}
	}
	return out
}
