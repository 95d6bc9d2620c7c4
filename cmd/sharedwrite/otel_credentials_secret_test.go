package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode"
)

// TestTelemetryConfigHidesCredentials: an OTLP header (an API key, a bearer
// token) or an endpoint's user information that OpenTelemetry cannot parse is
// reported on stderr, and the command goes on, but no piece of the credential
// is shown: OpenTelemetry's own report of it quotes the whole value.
func TestTelemetryConfigHidesCredentials(t *testing.T) {
	collector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(collector.Close)
	const secret = "k3yQQ9zzWW7secret"
	for _, tc := range []struct {
		name, protocol string
		env            []string
		report         string // what stderr says about the bad value
	}{
		{"header value with a bad escape", "http/protobuf",
			[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL, "OTEL_EXPORTER_OTLP_HEADERS=x-api-key=" + secret[:6] + "%zz" + secret[6:]}, "escape header value"},
		{"header without =", "http/protobuf",
			[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL, "OTEL_EXPORTER_OTLP_HEADERS=content-type=x,Authorization: Bearer " + secret}, "parse headers"},
		{"traces header with a bad key", "http/protobuf",
			[]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=" + collector.URL + "/v1/traces", "OTEL_EXPORTER_OTLP_TRACES_HEADERS=Bearer " + secret + "=1"}, "parse headers"},
		{"header value with a bad escape, grpc", "grpc",
			[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=" + collector.URL, "OTEL_EXPORTER_OTLP_HEADERS=x-api-key=" + secret + "%zz"}, "escape header value"},
		{"endpoint password with a bad escape", "http/protobuf",
			[]string{"OTEL_EXPORTER_OTLP_ENDPOINT=http://user:" + secret[:6] + "%zz" + secret[6:] + "@127.0.0.1:1"}, "parse url"},
		{"traces endpoint password, bad port", "http/protobuf",
			[]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT=http://user:" + secret + "@127.0.0.1:nope/v1/traces"}, "parse url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := append([]string{"OTEL_TRACES_EXPORTER=otlp", "OTEL_EXPORTER_OTLP_PROTOCOL=" + tc.protocol, "OTEL_EXPORTER_OTLP_TIMEOUT=500"}, tc.env...)
			r := runCLI(t, env, "x\n", "--root", t.TempDir(), "write", "f")
			if r.code != 0 {
				t.Fatalf("write: exit %d; want 0 (telemetry is never a reason not to write): %s", r.code, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.report) {
				t.Errorf("stderr does not report %q:\n%s", tc.report, r.stderr)
			}
			for _, p := range secretPieces(secret) {
				if strings.Contains(r.stdout+r.stderr, p) {
					t.Errorf("output shows %q of the credential:\n%s%s", p, r.stdout, r.stderr)
					break
				}
			}
		})
	}
}

// secretPieces returns s and each run of its letters and digits, and each
// piece of 4 bytes of it: long enough not to match by chance.
func secretPieces(s string) []string {
	pieces := []string{s}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		pieces = append(pieces, f)
	}
	for i := 0; i+4 <= len(s); i++ {
		pieces = append(pieces, s[i:i+4])
	}
	return pieces
}
