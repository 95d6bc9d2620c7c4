package coordinator

import (
	"errors"
	"io/fs"
	"os"
	"testing"
	"time"
)

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

func TestIntentEncoding(t *testing.T) {
	in := txIntent{ID: newIntentID(), Created: time.Unix(1, 0).UTC(), Host: "h", PID: 1,
		Entries: []txEntry{{Target: "a", Temp: ".a.tmp", Token: 3, LeaseID: "h/1/ff", SHA256: "00", Size: 1}}}
	b, err := encodeIntent(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeIntent(b)
	if err != nil || got.ID != in.ID || len(got.Entries) != 1 || got.Entries[0] != in.Entries[0] {
		t.Fatalf("decode(encode) = %+v, %v; want %+v", got, err, in)
	}
	flipped := append([]byte(nil), b...)
	flipped[len(intentMagic)+5] ^= 1
	for name, data := range map[string][]byte{
		"empty":        nil,
		"header only":  []byte(intentMagic),
		"truncated":    b[:len(b)-10],
		"no newline":   b[:len(b)-1],
		"flipped byte": flipped,
		"garbage":      []byte("sharedwrite-tx 1\n{}\n00\n"),
	} {
		if _, err := decodeIntent(data); !errors.Is(err, ErrCorruptIntent) {
			t.Errorf("%s: decode = %v; want ErrCorruptIntent", name, err)
		}
	}
}

func TestIntentIDsStayInTxDir(t *testing.T) {
	root := t.TempDir()
	r, err := os.OpenRoot(root)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, id := range []string{"", "../volume-id", "a/b", "x.tmp", "ABC"} {
		if _, err := readIntent(r, id); !errors.Is(err, ErrCorruptIntent) {
			t.Errorf("readIntent(%q) = %v; want ErrCorruptIntent", id, err)
		}
	}
}
