package coordinator

import (
	"errors"
	"net/url"

	"github.com/redis/go-redis/v9"
)

// newRedisClient builds a client from a redis://, rediss:// or unix:// URL.
func newRedisClient(u string) (redis.UniversalClient, error) {
	opt, err := redis.ParseURL(u)
	if err != nil {
		// url.Parse errors quote the whole URL, password included.
		return nil, errors.New("invalid Redis URL " + redactURL(u))
	}
	opt.DisableIdentity = true
	return redis.NewClient(opt), nil
}

// redactURL removes the password from u, for errors and logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "(unparsable Redis URL)"
	}
	return p.Redacted()
}
