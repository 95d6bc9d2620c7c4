package integration

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
)

// A payload carries its own checksum: a header line "swpayload <id> <length>
// <sha256 of the body>" and the body. A file that is not exactly one payload
// is torn (or was never written by a scenario).
func makePayload(id string, size int) []byte {
	body := make([]byte, size)
	rand.Read(body)
	sum := sha256.Sum256(body)
	return append([]byte(fmt.Sprintf("swpayload %s %d %s\n", id, size, hex.EncodeToString(sum[:]))), body...)
}

// payloadID returns the id of the payload data is, or an error saying why it
// is not one whole payload.
func payloadID(data []byte) (string, error) {
	head, body, ok := bytes.Cut(data, []byte("\n"))
	if !ok {
		return "", fmt.Errorf("no header line in %d bytes", len(data))
	}
	var id, sum string
	var size int
	if _, err := fmt.Sscanf(string(head), "swpayload %s %d %s", &id, &size, &sum); err != nil {
		return "", fmt.Errorf("header %q: %v", head, err)
	}
	if len(body) != size {
		return "", fmt.Errorf("payload %s: body of %d bytes; header says %d", id, len(body), size)
	}
	got := sha256.Sum256(body)
	if hex.EncodeToString(got[:]) != sum {
		return "", fmt.Errorf("payload %s: sha256 %x; header says %s", id, got, sum)
	}
	return id, nil
}

func itoa(i int) string { return strconv.Itoa(i) }
