package locking

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/redis/go-redis/v9"
)

// ClassifyRedisError is err from a go-redis call, wrapping ErrUnavailable
// when Redis could not be reached or cannot serve yet (a loading server, a
// cluster reconfiguring), and ErrTLS (not ErrUnavailable: retrying cannot
// cure it) when the TLS handshake failed on a certificate or the TLS setup;
// a reply of its own (a wrong password, a database number out of range) and
// a cancellation pass through: Redis was reached.
func ClassifyRedisError(err error) error { return redisErr(err) }

// redisErr marks transport failures as ErrUnavailable so that errors.Is works
// on them, and TLS configuration errors as ErrTLS; replies from the server
// pass through.
func redisErr(err error) error {
	if err == nil || errors.Is(err, ErrUnavailable) {
		return err
	}
	var re redis.Error
	if errors.As(err, &re) && !transientReply(re.Error()) {
		return err
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	if tlsConfigError(err) {
		// Retrying cannot cure it: the same certificates fail the same way.
		return fmt.Errorf("%w: %w", ErrTLS, err)
	}
	// Timeouts (a dial or read timing out, or the caller's deadline passing
	// mid-call) count as unavailability; Acquire tells the caller's own
	// deadline apart by checking its context.
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// tlsConfigError reports whether err is a TLS handshake that failed on the
// certificates or the TLS setup rather than on the network: the server's
// certificate not verified (an unknown CA, another name, expired), the
// server refusing ours with an alert (none sent where required: "certificate
// required"; "bad certificate", "unknown certificate authority"), or a
// server that does not speak TLS at all.
func tlsConfigError(err error) bool {
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		he  x509.HostnameError
		cie x509.CertificateInvalidError
		sre x509.SystemRootsError
		rhe tls.RecordHeaderError
		oe  *net.OpError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &he), errors.As(err, &cie), errors.As(err, &sre), errors.As(err, &rhe):
		return true
	case errors.As(err, &oe) && oe.Op == "remote error" && oe.Err != nil:
		// crypto/tls reports an alert from the peer as a *net.OpError "remote
		// error" around its unexported alert type ("tls: certificate
		// required"); tls.AlertError is QUIC's only. Redis (OpenSSL) sends
		// an alert to refuse a handshake; a connection it merely drops
		// ends without one (io.EOF), which stays transient.
		return strings.HasPrefix(oe.Err.Error(), "tls: ")
	}
	return false
}

// transientReply lists server replies that a retry can cure: a loading
// server, a replica after a failover, a cluster reconfiguring.
func transientReply(msg string) bool {
	for _, p := range []string{"LOADING", "READONLY", "CLUSTERDOWN", "MASTERDOWN", "TRYAGAIN", "BUSY", "MOVED", "ASK"} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}

func isTransient(err error) bool { return errors.Is(err, ErrUnavailable) }
