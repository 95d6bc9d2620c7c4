//go:build linux

package writer

import (
	"bufio"
	"context"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
	"golang.org/x/sys/unix"
)

// benchDirs returns a directory on the root disk and one on a tmpfs. /tmp is
// used for the disk unless it is itself a tmpfs; then /var/tmp.
func benchDirs(b *testing.B) map[string]string {
	b.Helper()
	disk := b.TempDir()
	var st unix.Statfs_t
	if err := unix.Statfs(disk, &st); err == nil && st.Type == unix.TMPFS_MAGIC {
		d, err := os.MkdirTemp("/var/tmp", "writer-bench")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { os.RemoveAll(d) })
		disk = d
	}
	return map[string]string{"disk": disk, "tmpfs": testrig.Tmpfs(b, "64m")}
}

var benchPayload = []byte(strings.Repeat("0123456789abcdef", 256)) // 4 KiB

// BenchmarkWriteFile4K: WriteFile of 4 KiB over an existing file.
func BenchmarkWriteFile4K(b *testing.B) {
	for _, kind := range []string{"disk", "tmpfs"} {
		b.Run(kind, func(b *testing.B) {
			dir := benchDirs(b)[kind]
			r, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			ctx := context.Background()
			b.SetBytes(int64(len(benchPayload)))
			for b.Loop() {
				if err := r.WriteFile(ctx, "f", benchPayload, 0o644); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBare4K is the baseline: CreateTemp + write + fsync + close +
// rename + directory fsync of the same payload in the same directory.
func BenchmarkBare4K(b *testing.B) {
	for _, kind := range []string{"disk", "tmpfs"} {
		b.Run(kind, func(b *testing.B) {
			dir := benchDirs(b)[kind]
			target := filepath.Join(dir, "f")
			b.SetBytes(int64(len(benchPayload)))
			for b.Loop() {
				bareWrite(b, dir, target)
			}
		})
	}
}

// bareWrite is the baseline replace: CreateTemp + write + fsync + close +
// rename + directory fsync.
func bareWrite(b *testing.B, dir, target string) {
	f, err := os.CreateTemp(dir, ".bare")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := f.Write(benchPayload); err != nil {
		b.Fatal(err)
	}
	if err := f.Sync(); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	if err := os.Rename(f.Name(), target); err != nil {
		b.Fatal(err)
	}
	d, err := os.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	if err := d.Sync(); err != nil {
		b.Fatal(err)
	}
	d.Close()
}

// BenchmarkWriteFileVsBare4K runs one WriteFile and one bare replace of
// 4 KiB in the same directory per iteration, in alternating order, so both
// see the same load on a shared machine and neither always follows the
// other's directory fsync. It reports each one's median time and their ratio.
func BenchmarkWriteFileVsBare4K(b *testing.B) {
	for _, kind := range []string{"disk", "tmpfs"} {
		b.Run(kind, func(b *testing.B) {
			dir := benchDirs(b)[kind]
			r, err := Open(dir)
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			ctx := context.Background()
			ops := [2]func(){
				func() {
					if err := r.WriteFile(ctx, "f", benchPayload, 0o644); err != nil {
						b.Fatal(err)
					}
				},
				func() { bareWrite(b, dir, filepath.Join(dir, "g")) },
			}
			var durs [2][]time.Duration
			i := 0
			for b.Loop() {
				for j := range ops {
					k := (i + j) % 2
					start := time.Now()
					ops[k]()
					durs[k] = append(durs[k], time.Since(start))
				}
				i++
			}
			med := [2]float64{}
			for k := range durs {
				slices.Sort(durs[k])
				med[k] = float64(durs[k][len(durs[k])/2].Nanoseconds())
			}
			b.ReportMetric(med[0], "writefile-p50-ns")
			b.ReportMetric(med[1], "bare-p50-ns")
			b.ReportMetric(med[0]/med[1], "ratio")
		})
	}
}

// pattern is an endless generator of bytes.
type pattern struct{}

func (pattern) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(i)
	}
	return len(p), nil
}

// procStatusKB returns a "Vm..." field of /proc/self/status in KiB.
func procStatusKB(b *testing.B, field string) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	b.Fatalf("%s not in /proc/self/status", field)
	return 0
}

// BenchmarkStream1GiB streams 1 GiB through Create + io.Copy + Commit on the
// root disk and reports the peak memory growth: peak RSS (VmHWM, reset
// through /proc/self/clear_refs) over the RSS before, and the growth of the
// Go heap's reservation (HeapSys). Run it with -benchtime=1x.
func BenchmarkStream1GiB(b *testing.B) {
	dir := benchDirs(b)["disk"]
	r, err := Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	ctx := context.Background()
	const size = 1 << 30
	b.SetBytes(size)
	var maxRSS, maxHeap int64
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
			b.Fatalf("reset peak RSS: %v", err)
		}
		rss0 := procStatusKB(b, "VmRSS")
		f, err := r.Create(ctx, "big", 0o644)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(f, io.LimitReader(pattern{}, size)); err != nil {
			b.Fatal(err)
		}
		if err := f.Commit(ctx); err != nil {
			b.Fatal(err)
		}
		runtime.ReadMemStats(&after)
		maxRSS = max(maxRSS, (procStatusKB(b, "VmHWM")-rss0)<<10)
		maxHeap = max(maxHeap, int64(after.HeapSys)-int64(before.HeapSys))
	}
	b.ReportMetric(float64(maxRSS)/(1<<20), "peak-RSS-growth-MiB")
	b.ReportMetric(float64(maxHeap)/(1<<20), "HeapSys-growth-MiB")
}
