// Package quote prints names safely: a file name may hold a newline, an escape
// sequence or invalid UTF-8, and printing it raw would let it forge a log line.
package quote

import "strconv"

// Name returns s as a double-quoted Go string literal with every control
// character, non-printable rune and invalid byte escaped. It is the only way
// sharedwrite puts a caller-supplied name into an error or a log record.
func Name(s string) string {
	return strconv.Quote(s)
}

// Value is Name without the surrounding quotes, for the value of a log
// attribute: the log handler quotes a value that needs it, and Name's quotes
// would be quoted again. Every control character, non-printable rune and
// invalid byte is still escaped, whatever the handler does.
func Value(s string) string {
	q := strconv.Quote(s)
	return q[1 : len(q)-1]
}
