package locking

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sharedwrite/sharedwrite/internal/testrig"
)

// TestAcquireTLSConfigErrorNotRetried: a TLS handshake that fails on a
// certificate (the server's not signed by the CA given, issued for another
// name, or the client's missing where the server requires one) is a
// configuration error. Acquire returns it at once, naming the step, the key
// and the TLS failure, instead of retrying it until the deadline and
// reporting Redis unavailable.
func TestAcquireTLSConfigErrorNotRetried(t *testing.T) {
	plain := testrig.StartRedisTLS(t, false)
	mtls := testrig.StartRedisTLS(t, true)
	otherCA := writeOtherCA(t)
	rediss := func(r *testrig.RedisTLS, q url.Values) string { return "rediss://" + r.Addr() + "/?" + q.Encode() }
	for _, tc := range []struct{ name, url string }{
		{"CA that did not sign the server certificate", rediss(plain, url.Values{"tls_ca_file": {otherCA}})},
		{"server name not in the certificate", rediss(plain, url.Values{"tls_ca_file": {plain.CAFile}, "tls_server_name": {"wrong.example"}})},
		{"no client certificate", rediss(mtls, url.Values{"tls_ca_file": {mtls.CAFile}})},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := NewClient(tc.url)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			l := NewRedisLocker(c, uniqueVolume(t))
			defer l.Close()
			const deadline = 5 * time.Second
			start := time.Now()
			le, err := l.Acquire(ctxTimeout(t, deadline), "k", time.Second)
			took := time.Since(start)
			if err == nil {
				le.Release(ctxTimeout(t, time.Second), nil, "k")
				t.Fatal("Acquire succeeded; want a TLS certificate error")
			}
			t.Logf("after %v: %v", took, err)
			if took > time.Second {
				t.Errorf("Acquire returned after %v with a %v deadline; want at once (a configuration error is not retried)", took, deadline)
			}
			if errors.Is(err, ErrUnavailable) {
				t.Errorf("Acquire error %v wraps ErrUnavailable; want a TLS configuration error", err)
			}
			if !errors.Is(err, ErrTLS) {
				t.Errorf("Acquire error %v does not wrap ErrTLS", err)
			}
			var le2 *Error
			if !errors.As(err, &le2) || le2.Op != "acquire" || le2.Key != "k" {
				t.Errorf("Acquire error %v (%T); want an *Error for step acquire, key k", err, err)
			}
			if msg := err.Error(); !strings.Contains(msg, "certificate") || !strings.Contains(msg, "TLS") {
				t.Errorf("Acquire error %q; want it to say TLS and certificate", msg)
			}
		})
	}
}

// writeOtherCA writes a CA certificate (PEM) that signed nothing the rigs
// use, and returns its file.
func writeOtherCA(t *testing.T) string {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sharedwrite other test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "other-ca.pem")
	if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}
