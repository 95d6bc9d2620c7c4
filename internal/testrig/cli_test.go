package testrig

import "testing"

func TestSyncBuffer(t *testing.T) {
	var b SyncBuffer
	b.Write([]byte("ab"))
	b.Write([]byte("c"))
	if got := b.String(); got != "abc" {
		t.Errorf("String: got %q; want %q", got, "abc")
	}
	b.Reset()
	if got := b.String(); got != "" {
		t.Errorf("String after Reset: got %q; want empty", got)
	}
}
