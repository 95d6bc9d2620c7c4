package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
	"strings"
	"time"
)

// The peer test: two replicas run `doctor --peer` at once and meet through files
// in peerDir on the shared volume. Each announces itself with hello.<id> and
// rewrites it with a new beat while the test runs: a hello whose content
// does not change belongs to a replica that died (killed before it could
// remove it) and is passed over. The one with the smaller id holds a flock
// on lock.<id> and says so with held.<id>; the other tries the same lock
// without waiting and answers in result.<id> ("blocked": the lock reached
// it; "acquired": it did not). The holder removes the result as soon as it
// has read it, while it still holds the lock: that removal tells the other
// that the lock was held throughout, so a holder that died meanwhile (its
// lock gone with it) is not taken for a lock that did not propagate. Then
// both remove what they wrote.
const peerDir = doctorDir + "/peer"

// peerResult is what the peer test found.
type peerResult struct {
	Me         string `json:"me"`   // this replica's id in the test
	Peer       string `json:"peer"` // the other's
	PeerHost   string `json:"peer_host"`
	SameHost   bool   `json:"same_host"` // the same hostname, or the same running kernel (containers on one host)
	Propagates bool   `json:"propagates"`
}

func (p *peerResult) String() string {
	verdict := "locks DO NOT propagate between the two replicas"
	if p.Propagates {
		verdict = "locks propagate between the two replicas"
	}
	return fmt.Sprintf("%s (peer on host %s)", verdict, strconv.Quote(p.PeerHost))
}

// peerPoll is how often the peer test looks for the other side's files, and
// peerBeat how often it rewrites its hello.
const (
	peerPoll = 50 * time.Millisecond
	peerBeat = 100 * time.Millisecond
)

func meetPeer(ctx context.Context, root *os.Root, wait time.Duration, progress io.Writer) (*peerResult, error) {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	stop := startProgress(progress, "doctor --peer: waiting for the other replica")
	defer stop()
	if err := root.MkdirAll(peerDir, 0o770); err != nil {
		return nil, err
	}
	host, _ := os.Hostname()
	kernel := kernelID()
	me := strconv.FormatInt(time.Now().UnixNano(), 36) + "-" + randomHex(4)
	var mine []string
	defer func() {
		for _, n := range mine {
			root.Remove(n)
		}
	}()
	write := func(name, content string) error {
		tmp := peerDir + "/.tmp." + me + "." + randomHex(4)
		// O_EXCL, not WriteFile's O_TRUNC: a name planted in advance (a
		// hard link to another file) is refused, never written through.
		f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = f.WriteString(content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			root.Remove(tmp)
			return err
		}
		if err := root.Rename(tmp, name); err != nil {
			root.Remove(tmp)
			return err
		}
		return nil
	}
	put := func(name, content string) error {
		if err := write(name, content); err != nil {
			return err
		}
		mine = append(mine, name)
		return nil
	}
	// The hello names the host, the running kernel (see kernelID) and
	// the beat, one a line; the first line is the host, as it always was.
	hello := peerDir + "/hello." + me
	helloText := func(beat int) string { return host + "\n" + kernel + "\n" + strconv.Itoa(beat) }
	if err := put(hello, helloText(0)); err != nil {
		return nil, fmt.Errorf("announce %s: %w", strconv.Quote(hello), err)
	}
	beatDone := make(chan struct{})
	beatCtx, stopBeat := context.WithCancel(ctx)
	defer func() { stopBeat(); <-beatDone }() // before the files are removed
	go func() {
		defer close(beatDone)
		for n := 1; sleepCtx(beatCtx, peerBeat) == nil; n++ {
			_ = write(hello, helloText(n))
		}
	}()

	// Find a peer: the newest hello of another id, written less than wait ago,
	// whose beat has been seen to change.
	var peer, peerHost, peerKernel string
	first := map[string]string{} // id -> the hello's content when first read
	for peer == "" {
		if ents, err := fs.ReadDir(root.FS(), peerDir); err == nil {
			for _, e := range ents {
				id, ok := strings.CutPrefix(e.Name(), "hello.")
				if !ok || id == me {
					continue
				}
				info, err := e.Info()
				if err != nil || time.Since(info.ModTime()) > wait {
					continue
				}
				b, err := root.ReadFile(peerDir + "/" + e.Name())
				if err != nil {
					continue
				}
				if was, seen := first[id]; !seen {
					first[id] = string(b)
				} else if was != string(b) && id > peer {
					peer = id
					peerHost, peerKernel = helloHost(string(b))
				}
			}
		}
		if peer == "" {
			if err := sleepCtx(ctx, peerPoll); err != nil {
				if parent.Err() != nil {
					// Interrupted (a signal), not out of time.
					return nil, fmt.Errorf("interrupted while waiting for the other replica: %w", context.Cause(parent))
				}
				return nil, fmt.Errorf("%w within %v (run 'doctor --peer' on the other replica at the same time)", errNoPeer, wait)
			}
		}
	}
	// Replicas in containers on one host have hostnames of their own but
	// share its kernel, and with it the locks of every mount they share.
	sameHost := peerHost == host || (kernel != "" && peerKernel == kernel)
	res := &peerResult{Me: me, Peer: peer, PeerHost: peerHost, SameHost: sameHost}

	if me < peer {
		// Holder.
		lockName := peerDir + "/lock." + me
		f, err := root.OpenFile(lockName, os.O_CREATE|os.O_RDWR, 0o660)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", strconv.Quote(lockName), err)
		}
		mine = append(mine, lockName)
		defer f.Close()
		if held, err := tryFlock(f); err != nil || held {
			return nil, fmt.Errorf("flock %s: held=%v: %v", strconv.Quote(lockName), held, err)
		}
		defer unflock(f)
		if err := put(peerDir+"/held."+me, host); err != nil {
			return nil, err
		}
		resultName := peerDir + "/result." + me
		answer, err := waitFile(ctx, root, resultName)
		if err != nil {
			return nil, fmt.Errorf("wait for the peer's answer: %w", err)
		}
		// Still holding the lock: the removal tells the peer so.
		if err := root.Remove(resultName); err != nil {
			return nil, fmt.Errorf("remove %s: %w", strconv.Quote(resultName), err)
		}
		res.Propagates = answer == "blocked"
		return res, nil
	}
	// Prober.
	if _, err := waitFile(ctx, root, peerDir+"/held."+peer); err != nil {
		return nil, fmt.Errorf("wait for the peer's lock: %w", err)
	}
	lockName := peerDir + "/lock." + peer
	f, err := root.OpenFile(lockName, os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", strconv.Quote(lockName), err)
	}
	held, err := tryFlock(f)
	if err == nil && !held {
		unflock(f)
	}
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("flock %s: %w", strconv.Quote(lockName), err)
	}
	res.Propagates = held
	answer := "acquired"
	if held {
		answer = "blocked"
	}
	resultName := peerDir + "/result." + peer
	if err := put(resultName, answer); err != nil {
		return nil, err
	}
	// The holder removes the result once it has read it, holding the lock
	// all along; a result left in place means it did not (it died, and its
	// lock went with it): no verdict can be drawn.
	if err := waitGone(ctx, root, resultName); err != nil {
		return nil, fmt.Errorf("the peer did not confirm that it held the lock throughout (it may have died): %w", err)
	}
	mine = mine[:len(mine)-1]
	return res, nil
}

// helloHost returns the host and the kernel id a hello names; the kernel id
// is "" when the hello has none (a doctor that does not write it, or a
// platform where it is not known).
func helloHost(hello string) (host, kernel string) {
	lines := strings.Split(hello, "\n")
	if len(lines) >= 3 {
		kernel = lines[1]
	}
	return lines[0], kernel
}

// waitGone polls until name no longer exists.
func waitGone(ctx context.Context, root *os.Root, name string) error {
	for {
		if _, err := root.Lstat(name); errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err := sleepCtx(ctx, peerPoll); err != nil {
			return fmt.Errorf("%s was not removed: %w", strconv.Quote(name), err)
		}
	}
}

// waitFile polls until name exists and returns its content.
func waitFile(ctx context.Context, root *os.Root, name string) (string, error) {
	for {
		b, err := root.ReadFile(name)
		if err == nil {
			return string(b), nil
		}
		if err := sleepCtx(ctx, peerPoll); err != nil {
			return "", fmt.Errorf("%s did not appear: %w", strconv.Quote(name), err)
		}
	}
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
