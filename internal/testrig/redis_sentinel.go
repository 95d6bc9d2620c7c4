package testrig

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisSentinel is a master, one replica and one sentinel monitoring the master
// under MasterName, all redis-servers started by the test.
type RedisSentinel struct {
	Master, Replica *Redis
	sentinel        *Redis
}

// MasterName is the name the sentinel monitors the master under.
func (s *RedisSentinel) MasterName() string { return "mymaster" }

// SentinelAddr is the sentinel's loopback address.
func (s *RedisSentinel) SentinelAddr() string { return s.sentinel.Addr() }

// URL is the redis+sentinel:// form the locking package accepts:
// redis+sentinel://host:port/mymaster.
func (s *RedisSentinel) URL() string {
	return "redis+sentinel://" + s.SentinelAddr() + "/" + s.MasterName()
}

// Client returns a go-redis failover client, closed on cleanup.
func (s *RedisSentinel) Client(t testing.TB) *redis.Client {
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: s.MasterName(), SentinelAddrs: []string{s.SentinelAddr()}, DisableIdentity: true,
	})
	t.Cleanup(func() { c.Close() })
	return c
}

// StartRedisSentinel starts the master, a replica of it
// (--repl-diskless-sync-delay 0, on both so that either can serve a sync after
// a failover) and a sentinel (redis-server conf --sentinel), and waits until the
// replica is in sync and the sentinel knows it. All are killed by pid on cleanup.
func StartRedisSentinel(t testing.TB) *RedisSentinel {
	t.Helper()
	NeedBinary(t, "redis-server")
	fast := []string{"--repl-diskless-sync-delay", "0", "--repl-diskless-sync", "yes"}
	m, err := LaunchRedis(t.TempDir(), fast...)
	if err != nil {
		t.Fatalf("sentinel rig: start master: %v", err)
	}
	t.Cleanup(m.Kill)
	rep, err := LaunchRedis(t.TempDir(), append(fast, "--replicaof", "127.0.0.1", strconv.Itoa(m.Port))...)
	if err != nil {
		t.Fatalf("sentinel rig: start replica: %v", err)
	}
	t.Cleanup(rep.Kill)
	s := &RedisSentinel{Master: m, Replica: rep}
	if err := waitLinkUp(rep.Addr(), 15*time.Second); err != nil {
		t.Fatalf("sentinel rig: %v", err)
	}

	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	sen := &Redis{Dir: dir}
	// down-after-milliseconds is far beyond any stall of a loaded machine:
	// the tests fail over when they choose to (SENTINEL FAILOVER forces one
	// without waiting for the master to be seen down), and a master that a
	// busy CI machine left unanswered for a few seconds must not be failed
	// over behind their backs.
	err = sen.startOnFreePort(func(port int) ([]string, error) {
		text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n"+
			"sentinel monitor mymaster 127.0.0.1 %d 1\n"+
			"sentinel down-after-milliseconds mymaster 60000\n"+
			"sentinel failover-timeout mymaster 10000\n", port, dir, m.Port)
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			return nil, fmt.Errorf("write %s: %w", conf, err)
		}
		return []string{conf, "--sentinel"}, nil
	})
	if err != nil {
		t.Fatalf("sentinel rig: start sentinel: %v", err)
	}
	t.Cleanup(sen.Kill)
	s.sentinel = sen
	if err := s.waitReplicaKnown(15 * time.Second); err != nil {
		t.Fatalf("sentinel rig: %v", err)
	}
	return s
}

func waitLinkUp(addr string, within time.Duration) error {
	c := directClient(addr)
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		info, err := c.Info(context.Background(), "replication").Result()
		if err == nil && strings.Contains(info, "master_link_status:up") {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("replica %s: master link not up within %v: %v %s", addr, within, err, info)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (s *RedisSentinel) sentinelClient() *redis.SentinelClient {
	return redis.NewSentinelClient(&redis.Options{Addr: s.SentinelAddr(), DisableIdentity: true, MaxRetries: -1})
}

func (s *RedisSentinel) waitReplicaKnown(within time.Duration) error {
	c := s.sentinelClient()
	defer c.Close()
	deadline := time.Now().Add(within)
	for {
		reps, err := c.Replicas(context.Background(), s.MasterName()).Result()
		if err == nil {
			for _, r := range reps {
				flags := r["flags"]
				if flags == "slave" && r["master-link-status"] == "ok" {
					return nil
				}
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("sentinel does not list a healthy replica within %v: %v %v", within, reps, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// MasterAddr asks the sentinel for the current master's address.
func (s *RedisSentinel) MasterAddr(t testing.TB) string {
	t.Helper()
	c := s.sentinelClient()
	defer c.Close()
	a, err := c.GetMasterAddrByName(context.Background(), s.MasterName()).Result()
	if err != nil {
		t.Fatalf("SENTINEL get-master-addr-by-name: %v", err)
	}
	return net.JoinHostPort(a[0], a[1])
}

// Failover runs SENTINEL FAILOVER and waits until the sentinel reports the
// replica as the new master and that server answers as a master. Master and
// Replica are then set from the new and the old master's addresses. It returns
// once the old master is a replica of the new one with its link up, its data
// replaced by the new master's.
// Replication is asynchronous and a forced failover does not wait for it:
// writes made shortly before Failover, or to the old master while it still
// answered as one, can be lost; writes after it returns go to the new master.
func (s *RedisSentinel) Failover(t testing.TB) {
	t.Helper()
	old := s.MasterAddr(t)
	c := s.sentinelClient()
	defer c.Close()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := c.Failover(context.Background(), s.MasterName()).Err()
		if err == nil {
			break
		}
		// NOGOODSLAVE until the sentinel has seen the replica's offset; INPROG
		// while an earlier failover finishes.
		if time.Now().After(deadline) {
			t.Fatalf("SENTINEL FAILOVER %s: %v", s.MasterName(), err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		now := s.MasterAddr(t)
		if now != old && isMaster(now) {
			// Master and Replica follow the addresses the sentinel
			// reports, whatever they were before (a swap would be wrong
			// after a failover the rig did not ask for).
			byAddr := map[string]*Redis{s.Master.Addr(): s.Master, s.Replica.Addr(): s.Replica}
			promoted, demoted := byAddr[now], byAddr[old]
			if promoted == nil || demoted == nil || promoted == demoted {
				t.Fatalf("failover: master moved from %s to %s; the rig's servers are %s and %s", old, now, s.Master.Addr(), s.Replica.Addr())
			}
			s.Master, s.Replica = promoted, demoted
			// The old master takes writes until it becomes a replica, and
			// its resync from the new master then drops them: no write
			// after Failover returns may land on it and vanish. The
			// sentinel demotes it only after about ten seconds; do now
			// what it will do.
			if err := replicaOf(old, now); err != nil {
				t.Fatalf("failover: %v", err)
			}
			// Its full resync forks the new master: a bound of its own,
			// not what the failover left of the deadline.
			if err := waitLinkUp(old, 30*time.Second); err != nil {
				t.Fatalf("failover: old master %s not yet a replica of %s: %v", old, now, err)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("failover: master still %s after 30s", now)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// replicaOf makes the server at addr a replica of the master at master.
func replicaOf(addr, master string) error {
	host, port, err := net.SplitHostPort(master)
	if err != nil {
		return err
	}
	c := directClient(addr)
	defer c.Close()
	if err := c.SlaveOf(context.Background(), host, port).Err(); err != nil {
		return fmt.Errorf("REPLICAOF %s on %s: %w", master, addr, err)
	}
	return nil
}

func isMaster(addr string) bool {
	c := directClient(addr)
	defer c.Close()
	info, err := c.Info(context.Background(), "replication").Result()
	return err == nil && strings.Contains(info, "role:master")
}
