//go:build linux

package writer

import (
	"context"
	"crypto/rand"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// benchMoveSize is the file a cross-device Move benchmark moves: 1 GiB, or
// SHAREDWRITE_BENCH_MOVE_MB megabytes.
func benchMoveSize() int64 {
	if mb, err := strconv.Atoi(os.Getenv("SHAREDWRITE_BENCH_MOVE_MB")); err == nil && mb > 0 {
		return int64(mb) << 20
	}
	return 1 << 30
}

// writeBenchSource writes size bytes (a random 1 MiB block repeated) to p;
// cold drops the file from the page cache afterwards, so the copy that
// follows reads it from the disk (a spool file written long before).
func writeBenchSource(b testing.TB, p string, size int64, cold bool) {
	b.Helper()
	block := make([]byte, 1<<20)
	rand.Read(block)
	f, err := os.Create(p)
	if err != nil {
		b.Fatal(err)
	}
	for n := int64(0); n < size; n += int64(len(block)) {
		if _, err := f.Write(block[:min(int64(len(block)), size-n)]); err != nil {
			b.Fatal(err)
		}
	}
	// Flushed outside the timed part, so its write-back does not slow
	// whichever copy runs next.
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if cold {
		if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
			b.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkMoveCrossDevice moves a 1 GiB file across filesystems (the EXDEV
// fallback: intent, copy, fsync, rename, unlink) — from the page
// cache to tmpfs, from the disk to tmpfs, and between two bind-mounted views
// of the disk — and, in the same process and rig, runs `cp SRC DST && sync
// DST` on the same file from the same cache state, the baseline a user would
// otherwise script. It reports both speeds and their ratio (move/cp), from
// the medians over b.N iterations, the CPU seconds per GiB of each, and the
// median duration of Move's fsync of the copy; the goal is a ratio of at
// least 0.9. Each iteration also moves the file with a PreCommit hook, which
// makes Move hash the copy as the coordinator's Move does (hooked-move).
//
// Like with like: cp copies through 128 KiB reads and writes between two
// filesystems and with copy_file_range within one, as Move does (1 MiB
// blocks; copy_file_range); both fsync the copy (sync DST); Move also writes
// its intent twice and unlinks src (freeing src's blocks takes about 0.1 s
// per GiB on ext4). Without a PreCommit hook, Move does not hash the
// copy; with one (the coordinator's) it hashes every byte with sha256 on
// another core (about 1.8 GB/s on an idle SHA-NI core), which then bounds it
// where cp+sync is bound only by memory (a cached source copied to tmpfs,
// 2-4 GB/s).
//
// Not part of a normal test run: it needs -bench (run it with -benchtime 2x;
// SHAREDWRITE_BENCH_MOVE_MB sets a smaller file).
func BenchmarkMoveCrossDevice(b *testing.B) {
	tmpfs := func(b *testing.B) (string, string) {
		return testrig.Tmpfs(b, "2g"), b.TempDir()
	}
	rigs := []struct {
		name  string
		cold  bool // src not in the page cache
		setup func(b *testing.B) (rootDir, srcDir string)
	}{
		{"disk-to-tmpfs", false, tmpfs},
		{"cold-disk-to-tmpfs", true, tmpfs},
		{"disk-to-disk-bind-views", false, func(b *testing.B) (string, string) {
			base := b.TempDir()
			rootDir := mkdirs(b, base, "root")
			mkdirs(b, base, "spool")
			view := b.TempDir()
			testrig.BindMount(b, base, view)
			return rootDir, filepath.Join(view, "spool")
		}},
	}
	cp, sync := testrig.NeedBinary(b, "cp"), testrig.NeedBinary(b, "sync")
	size := benchMoveSize()
	for _, rig := range rigs {
		b.Run(rig.name, func(b *testing.B) {
			rootDir, srcDir := rig.setup(b)
			r, err := Open(rootDir)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			src := filepath.Join(srcDir, "big.bin")
			dst := filepath.Join(rootDir, "big.bin")
			ctx := context.Background()
			var moveTimes, hookedTimes, cpTimes, fsyncTimes []time.Duration
			var moveCPU, cpCPU time.Duration
			exdev := 0
			b.SetBytes(size)
			b.StopTimer()
			// move moves src to dst once, with a PreCommit hook when hooked
			// (Move then hashes the copy for it, as under the coordinator).
			move := func(hooked bool) {
				writeBenchSource(b, src, size, rig.cold)
				b.StartTimer()
				cpu0 := cpuTime(unix.RUSAGE_SELF)
				start := time.Now()
				var fsyncDur time.Duration
				opts := []Option{Observe(func(e Event) {
					switch {
					case e.Step == "exdev-fallback":
						exdev++
					case e.Step == "fsync" && e.Bytes == size:
						fsyncDur = e.Dur
					}
				})}
				if hooked {
					opts = append(opts, PreCommit(func(context.Context, Change) error { return nil }))
				}
				err := r.Move(ctx, src, "big.bin", opts...)
				if hooked {
					hookedTimes = append(hookedTimes, time.Since(start))
				} else {
					moveTimes = append(moveTimes, time.Since(start))
					moveCPU += cpuTime(unix.RUSAGE_SELF) - cpu0
					fsyncTimes = append(fsyncTimes, fsyncDur)
				}
				b.StopTimer()
				if err != nil {
					b.Fatalf("Move: %v", err)
				}
				os.Remove(dst)
			}
			for range b.N {
				move(false)
				move(true)

				writeBenchSource(b, src, size, rig.cold)
				cpu0 := cpuTime(unix.RUSAGE_CHILDREN)
				start := time.Now()
				if out, err := exec.Command(cp, src, dst).CombinedOutput(); err != nil {
					b.Fatalf("cp: %v: %s", err, out)
				}
				if out, err := exec.Command(sync, dst).CombinedOutput(); err != nil {
					b.Fatalf("sync: %v: %s", err, out)
				}
				cpTimes = append(cpTimes, time.Since(start))
				cpCPU += cpuTime(unix.RUSAGE_CHILDREN) - cpu0
				os.Remove(dst)
				os.Remove(src)
			}
			if exdev != 2*b.N {
				b.Fatalf("exdev-fallback in %d of %d moves; want every one", exdev, 2*b.N)
			}
			// Medians: on a shared machine one slow iteration (write-back
			// of another process, a discard) would skew a mean.
			mb := float64(size) / (1 << 20)
			moveMBs, cpMBs := mb/median(moveTimes).Seconds(), mb/median(cpTimes).Seconds()
			b.ReportMetric(moveMBs, "move-MB/s")
			b.ReportMetric(cpMBs, "cp+sync-MB/s")
			b.ReportMetric(moveMBs/cpMBs, "move/cp")
			hookedMBs := mb / median(hookedTimes).Seconds()
			b.ReportMetric(hookedMBs, "hooked-move-MB/s")
			b.ReportMetric(hookedMBs/cpMBs, "hooked-move/cp")
			// The fsync of the copy, the part of Move that waits for the
			// disk once the data is copied and hashed.
			b.ReportMetric(median(fsyncTimes).Seconds(), "move-fsync-s")
			// CPU seconds per GiB: on a machine shared with other work the
			// wall-clock ratio mostly measures who got the CPU.
			gib := float64(size) * float64(b.N) / (1 << 30)
			b.ReportMetric(moveCPU.Seconds()/gib, "move-cpu-s/GiB")
			b.ReportMetric(cpCPU.Seconds()/gib, "cp+sync-cpu-s/GiB")
		})
	}
}

// median returns the median of ds (the upper one of an even count).
func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// cpuTime returns the user+system CPU time of who (RUSAGE_SELF or
// RUSAGE_CHILDREN, the reaped children).
func cpuTime(who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
