package testrig

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCluster is a Redis Cluster of three masters without replicas, each a
// redis-server started by the test (--cluster-enabled yes
// --cluster-node-timeout 2000) and joined with redis-cli --cluster create.
type RedisCluster struct {
	Nodes []*Redis
}

// Addrs returns the masters' loopback addresses.
func (c *RedisCluster) Addrs() []string {
	a := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		a[i] = n.Addr()
	}
	return a
}

// URL returns a go-redis cluster URL: redis://first?addr=second&addr=third.
func (c *RedisCluster) URL() string {
	a := c.Addrs()
	var b strings.Builder
	b.WriteString("redis://" + a[0])
	for i, x := range a[1:] {
		if i == 0 {
			b.WriteString("?")
		} else {
			b.WriteString("&")
		}
		b.WriteString("addr=" + x)
	}
	return b.String()
}

// Client returns a cluster client, closed on cleanup.
func (c *RedisCluster) Client(t testing.TB) *redis.ClusterClient {
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs(), DisableIdentity: true})
	t.Cleanup(func() { cc.Close() })
	return cc
}

// StartRedisCluster starts three cluster-enabled redis-servers, creates the
// cluster and waits until every node reports cluster_state:ok. The servers are
// killed by pid on cleanup.
func StartRedisCluster(t testing.TB) *RedisCluster {
	t.Helper()
	NeedBinary(t, "redis-server")
	cli := NeedBinary(t, "redis-cli")
	c := &RedisCluster{}
	for i := 0; i < 3; i++ {
		var r *Redis
		var err error
		// LaunchRedis tries other client ports if its own is taken, but
		// not another bus port: a bus port taken meanwhile (the server
		// exits on the failed bind) is retried here, in a new directory
		// (the failed start may have written its nodes.conf).
		for attempt := 0; ; attempt++ {
			dir := t.TempDir()
			bus, perr := FreePort()
			if perr != nil {
				t.Fatalf("cluster node %d: free port: %v", i, perr)
			}
			r, err = LaunchRedis(dir,
				"--cluster-enabled", "yes",
				"--cluster-node-timeout", "2000",
				"--cluster-config-file", filepath.Join(dir, "nodes.conf"),
				"--cluster-port", strconv.Itoa(bus))
			if err == nil || !errors.Is(err, errLostPort) || attempt == 2 {
				break
			}
		}
		if err != nil {
			t.Fatalf("cluster node %d: start redis-server: %v", i, err)
		}
		t.Cleanup(r.Kill)
		c.Nodes = append(c.Nodes, r)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs()...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	var out bytes.Buffer
	cmd := exec.Command(cli, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("redis-cli --cluster create: %v\n%s", err, out.String())
	}
	if err := c.waitOK(20 * time.Second); err != nil {
		t.Fatalf("cluster: %v\n%s", err, out.String())
	}
	return c
}

func (c *RedisCluster) waitOK(within time.Duration) error {
	deadline := time.Now().Add(within)
	for _, n := range c.Nodes {
		cl := directClient(n.Addr())
		var last string
		for {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			info, err := cl.ClusterInfo(ctx).Result()
			cancel()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			last = fmt.Sprint(info, err)
			if time.Now().After(deadline) {
				cl.Close()
				return fmt.Errorf("node %s not cluster_state:ok within %v: %s", n.Addr(), within, last)
			}
			time.Sleep(50 * time.Millisecond)
		}
		cl.Close()
	}
	return nil
}
