package testrig

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisTLS is a redis-server that accepts only TLS connections (--port 0
// --tls-port P), with a CA, a server certificate and a client certificate
// generated for the test.
type RedisTLS struct {
	*Redis
	// CAFile, CertFile and KeyFile are PEM files in a test directory: the CA
	// that signed both certificates, and the client certificate and key.
	CAFile, CertFile, KeyFile string
	// ClientCerts reports whether the server requires a client certificate.
	ClientCerts bool
}

// URL is a rediss:// URL for the server. It carries the CA (and, when the
// server requires one, the client certificate) as the tls_ca_file,
// tls_cert_file and tls_key_file query parameters the locking package reads.
func (r *RedisTLS) URL() string {
	q := url.Values{}
	q.Set("tls_ca_file", r.CAFile)
	if r.ClientCerts {
		q.Set("tls_cert_file", r.CertFile)
		q.Set("tls_key_file", r.KeyFile)
	}
	return "rediss://" + r.Addr() + "/?" + q.Encode()
}

// TLSConfig is a client configuration trusting the test CA, with the client
// certificate.
func (r *RedisTLS) TLSConfig() (*tls.Config, error) {
	return clientTLS(r.CAFile, r.CertFile, r.KeyFile)
}

// Client returns a go-redis client over TLS, closed on cleanup.
func (r *RedisTLS) Client(t testing.TB) *redis.Client {
	t.Helper()
	cfg, err := r.TLSConfig()
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(&redis.Options{Addr: r.Addr(), TLSConfig: cfg, DisableIdentity: true})
	t.Cleanup(func() { c.Close() })
	return c
}

// StartRedisTLS starts a TLS-only redis-server. With clientCerts true the
// server requires a client certificate signed by the CA (--tls-auth-clients
// yes); otherwise (also when omitted) --tls-auth-clients no. Killed by pid on
// cleanup.
func StartRedisTLS(t testing.TB, clientCerts ...bool) *RedisTLS {
	t.Helper()
	return startRedisTLS(t, len(clientCerts) > 0 && clientCerts[0])
}

func startRedisTLS(t testing.TB, clientCerts bool) *RedisTLS {
	t.Helper()
	NeedBinary(t, "redis-server")
	dir := t.TempDir()
	rt := &RedisTLS{ClientCerts: clientCerts}
	var err error
	rt.CAFile, rt.CertFile, rt.KeyFile, err = writeTestCerts(dir)
	if err != nil {
		t.Fatalf("tls rig: certificates: %v", err)
	}
	auth := "no"
	if clientCerts {
		auth = "yes"
	}
	r := &Redis{Dir: dir, Socket: filepath.Join(dir, "r.sock")}
	// Start checks readiness over TLS, with the client certificate.
	if r.tlsConf, err = clientTLS(rt.CAFile, rt.CertFile, rt.KeyFile); err != nil {
		t.Fatalf("tls rig: client configuration: %v", err)
	}
	err = r.startOnFreePort(func(port int) ([]string, error) {
		return []string{
			"--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
			"--tls-cert-file", filepath.Join(dir, "server.pem"),
			"--tls-key-file", filepath.Join(dir, "server.key"),
			"--tls-ca-cert-file", rt.CAFile,
			"--tls-auth-clients", auth,
			"--save", "", "--appendonly", "no", "--dir", dir,
			"--daemonize", "no", "--loglevel", "warning",
		}, nil
	})
	if err != nil {
		t.Fatalf("tls rig: %v", err)
	}
	t.Cleanup(r.Kill)
	rt.Redis = r
	return rt
}

func clientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	pemCA, err := os.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemCA) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	return &tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}, nil
}

// writeTestCerts writes ca.pem, server.pem/server.key (for 127.0.0.1 and
// localhost) and client.pem/client.key into dir.
func writeTestCerts(dir string) (caFile, certFile, keyFile string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	now := time.Now()
	ca := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "sharedwrite test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		IsCA:                  true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", "", err
	}
	caFile = filepath.Join(dir, "ca.pem")
	if err := writePEM(caFile, "CERTIFICATE", caDER); err != nil {
		return "", "", "", err
	}
	leaf := func(serial int64, name string, usage x509.ExtKeyUsage) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(serial),
			Subject:      pkix.Name{CommonName: name},
			NotBefore:    now.Add(-time.Hour),
			NotAfter:     now.Add(24 * time.Hour),
			KeyUsage:     x509.KeyUsageDigitalSignature,
			ExtKeyUsage:  []x509.ExtKeyUsage{usage},
			IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
			DNSNames:     []string{"localhost"},
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &key.PublicKey, caKey)
		if err != nil {
			return err
		}
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return err
		}
		if err := writePEM(filepath.Join(dir, name+".pem"), "CERTIFICATE", der); err != nil {
			return err
		}
		return writePEM(filepath.Join(dir, name+".key"), "EC PRIVATE KEY", kder)
	}
	if err := leaf(2, "server", x509.ExtKeyUsageServerAuth); err != nil {
		return "", "", "", err
	}
	if err := leaf(3, "client", x509.ExtKeyUsageClientAuth); err != nil {
		return "", "", "", err
	}
	return caFile, filepath.Join(dir, "client.pem"), filepath.Join(dir, "client.key"), nil
}

func writePEM(path, typ string, der []byte) error {
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)
}
