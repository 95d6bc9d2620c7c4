package locking

import (
	_ "embed"
	"fmt"
	"strconv"

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
