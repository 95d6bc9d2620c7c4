package locking

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

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

	acquireScript    = newScript(acquireLua)
	refreshScript    = newScript(refreshLua)
	releaseScript    = newScript(releaseLua)
	raiseFloorScript = newScript(raiseFloorLua)
)

// script is a lease script as the arguments of the commands that run it:
// its SHA1 for EVALSHA and its source for EVAL, each boxed once rather than
// on every call.
type script struct{ hash, src any }

func newScript(src string) *script {
	return &script{hash: redis.NewScript(src).Hash(), src: src}
}

// The command names, boxed once.
var evalshaCmd, evalCmd any = "evalsha", "eval"

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

// runScript runs s with EVALSHA, loading it with EVAL on NOSCRIPT, each sent
// once: client-side automatic retries are off for the lease scripts whatever
// the client's MaxRetries. (A Cluster client still follows MOVED/ASK
// redirects.) The first nkeys of args are the keys (Redis names, as
// strings: a Cluster client routes the command by the first).
func runScript(ctx context.Context, c redis.UniversalClient, s *script, nkeys int, args ...any) (any, error) {
	v, err := evalOnce(ctx, c, evalshaCmd, s.hash, nkeys, args)
	if err != nil && (errors.Is(err, redis.ErrNoScript) || strings.HasPrefix(err.Error(), "NOSCRIPT")) {
		v, err = evalOnce(ctx, c, evalCmd, s.src, nkeys, args)
	}
	return v, err
}

func evalOnce(ctx context.Context, c redis.UniversalClient, name, payload any, nkeys int, args []any) (any, error) {
	a := make([]any, 0, 3+len(args))
	a = append(a, name, payload, nkeys)
	a = append(a, args...)
	cmd := redis.NewCmd(ctx, a...)
	if nkeys > 0 {
		cmd.SetFirstKeyPos(3)
	}
	_ = c.Process(ctx, noRetryCmd{cmd})
	return cmd.Result()
}

// leaseArgs are the script arguments of one lease id on one key, boxed
// once for all the attempts of an Acquire and the scripts its lease runs
// (each boxing of a string is an allocation).
type leaseArgs struct {
	// The key's Redis names (Keys).
	lock, token, fence, commit, queue, queueExpiry, releaseChannel any
	// The lease id, and the lease's TTL in milliseconds (an int64).
	id, ttl any
}

func newLeaseArgs(keys Keys, id string, ttl time.Duration) *leaseArgs {
	return &leaseArgs{
		lock: keys.Lock, token: keys.Token, fence: keys.Fence, commit: keys.Commit,
		queue: keys.Queue, queueExpiry: keys.QueueExpiry, releaseChannel: keys.ReleaseChannel,
		id: id, ttl: ttl.Milliseconds(),
	}
}
