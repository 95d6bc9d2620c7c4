package writer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// A large content is hashed on another goroutine while it is written
// (ReadFrom's chunks, a large Write, large Writes in a row): the sum is still
// that of exactly what the file holds, in order, for sizes around the chunk
// and the threshold, also from a source that returns short reads (which
// ReadFrom gathers into whole chunks).
func TestLargeContentSum(t *testing.T) {
	r, dir := openRoot(t)
	rng := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{0, 1, parallelHashMin - 1, parallelHashMin, copyBufSize - 1, copyBufSize, copyBufSize + 1, 3*copyBufSize + 12345} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i*7 + i>>11 + size) // every 2 KiB different
		}
		want := sha256.Sum256(data)
		for _, how := range []string{"ReadFrom", "ReadFrom short reads", "Write", "Write in pieces"} {
			f, err := r.Create(context.Background(), "big", 0o644)
			if err != nil {
				t.Fatal(err)
			}
			switch how {
			case "ReadFrom":
				_, err = f.ReadFrom(bytes.NewReader(data))
			case "ReadFrom short reads":
				_, err = f.ReadFrom(io.LimitReader(&shortReader{r: bytes.NewReader(data), rng: rng}, int64(size)))
			case "Write":
				_, err = f.Write(data)
			case "Write in pieces":
				for p := data; len(p) > 0 && err == nil; {
					n := min(len(p), parallelHashMin+rng.IntN(parallelHashMin))
					_, err = f.Write(p[:n])
					p = p[n:]
				}
			}
			if err != nil {
				t.Fatal(err)
			}
			if sum, n := f.Sum(); sum != want || n != int64(size) {
				t.Fatalf("%d bytes by %s: Sum %x/%d; want %x/%d", size, how, sum, n, want, size)
			}
			if err := f.Commit(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got, err := os.ReadFile(filepath.Join(dir, "big")); err != nil || !bytes.Equal(got, data) {
				t.Fatalf("%d bytes by %s: the file holds %d bytes (%v); want the content", size, how, len(got), err)
			}
		}
	}
}

// shortReader returns at most a random part of what is asked.
type shortReader struct {
	r   io.Reader
	rng *rand.Rand
}

func (s *shortReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1+s.rng.IntN(len(p))]
	}
	return s.r.Read(p)
}
