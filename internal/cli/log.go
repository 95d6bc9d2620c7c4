package cli

import (
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/sharedwrite/sharedwrite/coordinator"
)

// newLogger returns the stderr logger for --log-format and --log-level. Every
// record logged with a context that carries a span gets trace_id and span_id.
func newLogger(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(strings.ToUpper(level))); err != nil {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	var h slog.Handler
	switch format {
	case "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", format)
	}
	return slog.New(coordinator.NewLogHandler(h)), nil
}
