package quote

import (
	"strings"
	"testing"
)

func TestNameEscapesControlCharacters(t *testing.T) {
	for _, in := range []string{"a\nb", "x\rlevel=ERROR", "\x1b[31mred", "bad\xffutf8", "tab\there"} {
		got := Name(in)
		if strings.ContainsAny(got, "\n\r\x1b\t") || !strings.HasPrefix(got, `"`) {
			t.Errorf("Name(%q) = %s; want a single-line quoted literal", in, got)
		}
	}
	if got := Name("plain.txt"); got != `"plain.txt"` {
		t.Errorf("Name(plain.txt) = %s; want %q", got, `"plain.txt"`)
	}
}

func TestValueEscapesWithoutQuotes(t *testing.T) {
	if got := Value("plain.txt"); got != "plain.txt" {
		t.Errorf("Value(plain.txt) = %s; want plain.txt", got)
	}
	for _, in := range []string{"a\nb", "x\rlevel=ERROR", "\x1b[31mred", "bad\xffutf8"} {
		if got := Value(in); strings.ContainsAny(got, "\n\r\x1b") || got == in {
			t.Errorf("Value(%q) = %s; want it escaped", in, got)
		}
	}
}
