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
