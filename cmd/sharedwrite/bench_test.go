package main

import (
	"os/exec"
	"strings"
	"testing"
)

// BenchmarkCLIWrite measures one `sharedwrite write` process per operation:
// what a shell script pays per write, start-up included.
func BenchmarkCLIWrite(b *testing.B) {
	ms := []mode{{name: "local"}}
	if redisSrv != nil {
		ms = append(ms, mode{name: "redis", redis: redisSrv.URL()})
	}
	for _, m := range ms {
		b.Run(m.name, func(b *testing.B) {
			v := volume{mode: m, root: b.TempDir()}
			if m.redis != "" {
				if out, err := exec.Command(swBin, v.args("init-volume")...).CombinedOutput(); err != nil {
					b.Fatalf("init-volume: %v: %s", err, out)
				}
			}
			for b.Loop() {
				cmd := exec.Command(swBin, v.args("write", "bench.txt")...)
				cmd.Env = baseEnv()
				cmd.Stdin = strings.NewReader("payload\n")
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("write: %v: %s", err, out)
				}
			}
		})
	}
}
