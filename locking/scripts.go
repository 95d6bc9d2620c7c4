package locking

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/redis/go-redis/v9"
)

// The lease is our own Lua rather than bsm/redislock's: its fixed scripts
// cannot return a fencing token or the committed record, nor publish a
// release, and each of those would otherwise cost another round trip.
var (
	//go:embed acquire.lua
	acquireLua string
	//go:embed refresh.lua
	refreshLua string
	//go:embed release.lua
	releaseLua string
	//go:embed raisefloor.lua
	raiseFloorLua string

	acquireScript    = redis.NewScript(acquireLua)
	refreshScript    = redis.NewScript(refreshLua)
	releaseScript    = redis.NewScript(releaseLua)
	raiseFloorScript = redis.NewScript(raiseFloorLua)
)

// reply is a script's array reply: a 0/1 flag and up to two values.
type reply struct {
	flag int64
	ok   bool
	a, b string
	n    int64
}

func parseReply(v any) (reply, error) {
	arr, ok := v.([]any)
	if !ok || len(arr) < 2 {
		return reply{}, fmt.Errorf("unexpected script reply %T", v)
	}
	var r reply
	flag, ok := arr[0].(int64)
	if !ok {
		return reply{}, fmt.Errorf("unexpected script reply flag %T", arr[0])
	}
	r.flag = flag
	r.ok = flag == 1
	r.a = str(arr[1])
	if len(arr) > 2 {
		r.b = str(arr[2])
		if n, ok := arr[2].(int64); ok {
			r.n = n
		}
	}
	return r, nil
}

func str(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case nil:
		return ""
	}
	return fmt.Sprint(v)
}

func parseToken(s string) (uint64, error) {
	t, err := strconv.ParseUint(s, 10, 64)
	if err != nil || t == 0 {
		return 0, fmt.Errorf("bad token %q in script reply", s)
	}
	return t, nil
}

// noRetryCmd is a script call go-redis must not resend by itself: the caller
// decides, with the same lease value, whether to try again (the acquire
// script is idempotent for it; a blind resend of a release would report a
// lease it just deleted as lost).
type noRetryCmd struct{ *redis.Cmd }

func (noRetryCmd) NoRetry() bool { return true }

// runScript runs s (source src) with EVALSHA, loading it with EVAL on
// NOSCRIPT, each sent once: client-side automatic retries are off for the
// lease scripts whatever the client's MaxRetries. (A Cluster client still
// follows MOVED/ASK redirects.)
func runScript(ctx context.Context, c redis.UniversalClient, s *redis.Script, src string, keys []string, args ...any) (any, error) {
	v, err := evalOnce(ctx, c, "evalsha", s.Hash(), keys, args)
	if err != nil && (errors.Is(err, redis.ErrNoScript) || strings.HasPrefix(err.Error(), "NOSCRIPT")) {
		v, err = evalOnce(ctx, c, "eval", src, keys, args)
	}
	return v, err
}

func evalOnce(ctx context.Context, c redis.UniversalClient, name, payload string, keys []string, args []any) (any, error) {
	a := make([]any, 0, 3+len(keys)+len(args))
	a = append(a, name, payload, len(keys))
	for _, k := range keys {
		a = append(a, k)
	}
	a = append(a, args...)
	cmd := redis.NewCmd(ctx, a...)
	if len(keys) > 0 {
		cmd.SetFirstKeyPos(3)
	}
	_ = c.Process(ctx, noRetryCmd{cmd})
	return cmd.Result()
}
