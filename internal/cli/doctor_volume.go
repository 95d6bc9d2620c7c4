package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"

	"github.com/sharedwrite/sharedwrite/coordinator"
	"github.com/sharedwrite/sharedwrite/internal/quote"
)

// probesStep is the step of probeVolume that writes the probe files.
var probesStep = "write-path probes in " + quote.Name(doctorDir)

// probeVolume opens the root at abs and probes what the volume alone tells:
// the mode recorded on it and whether its identity and config are usable,
// its filesystem and mount, the write path. It fills rep and returns the
// open root and the volume's id ("" when it has none). at names each step
// as it begins (see answered). Only a root that cannot be opened is an
// error; what the probes find is in rep.
func probeVolume(abs string, rep *doctorReport, at func(step string)) (*os.Root, string, error) {
	at("open root")
	root, err := os.OpenRoot(abs)
	if err != nil {
		return nil, "", volumeError{fmt.Errorf("doctor: open root %s: %w", quote.Name(abs), err)}
	}
	at("read " + quote.Name(metaDir+"/config"))
	var merr error
	rep.Volume, merr = volumeMode(root)
	if merr != nil {
		rep.VolumeErr = merr.Error()
	} else if rep.Volume == rep.Mode {
		// The volume's mode is ours: are its identity and config usable?
		// (Another mode, or none recorded, is judged later.)
		at("check the volume's identity and config")
		if err := coordinator.CheckVolume(abs, rep.Mode); err != nil {
			rep.VolumeErr = err.Error()
		}
	}
	var volID string
	if rep.Mode == "redis" {
		at("read " + quote.Name(metaDir+"/volume-id"))
		volID = rootVolumeID(abs)
	}
	at("read the filesystem type (statfs)")
	rep.FS = probeFS(abs)
	at(probesStep)
	rep.Probe = probeFiles(root)
	return root, volID, nil
}

// answered runs fn, doctor's calls into the volume at root, through v (see
// volumeCalls: a volume that does not answer blocks its calls in the kernel,
// where neither --timeout nor a signal interrupts them) and returns its
// error; when fn does not return in time, an error wrapping errNoAnswer that
// names the step fn was at (fn names each step it begins with at). What fn
// writes is the caller's to read only once answered returned nil.
func answered(ctx context.Context, v *volumeCalls, root string, fn func(at func(step string)) error) error {
	var step atomic.Value // string
	step.Store("")
	err := v.do(ctx, func() error { return fn(func(s string) { step.Store(s) }) })
	if errors.Is(err, errNoAnswer) {
		return fmt.Errorf("doctor %s: %s: %w", quote.Name(root), step.Load().(string), err)
	}
	return err
}
