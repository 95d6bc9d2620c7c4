package coordinator

import (
	"strconv"
	"strings"
	"testing"
)

// namedTxFiles is a transaction writing "<name>=<v>" to each of names.
func namedTxFiles(v string, names ...string) []TxFile {
	fs := make([]TxFile, len(names))
	for i, n := range names {
		fs[i] = TxFile{Name: n, Data: []byte(n + "=" + v)}
	}
	return fs
}

// crashTx runs the crash child on root and checks that it was killed.
func crashTx(t *testing.T, root string, killAt int, names []string, env ...string) {
	t.Helper()
	env = append(env, "SW_ROOT="+root, "SW_KILL_AT="+strconv.Itoa(killAt), "SW_FILES="+strings.Join(names, ","))
	cmd := child(t, "tx-crash-after-rename", env...)
	if s := exitStatus(cmd.Run()); s != -1 {
		t.Fatalf("crash child exited %d; want killed", s)
	}
}
