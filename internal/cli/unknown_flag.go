package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// leadingUnknownFlag is the first flag before the command name that root
// does not know ("" when there is none). cobra, finding an unknown flag
// there, takes the word after it for the flag's value and then reports the
// next word as an unknown command ("sharedwrite --bogus read x": unknown
// command "x"); the flag is what was wrong.
func leadingUnknownFlag(root *cobra.Command, args []string) string {
	root.InitDefaultHelpFlag()
	fs := root.Flags()
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || a == "-" || !strings.HasPrefix(a, "-") {
			return ""
		}
		name, _, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		f := fs.Lookup(name)
		if !strings.HasPrefix(a, "--") {
			f = nil
			if len(name) == 1 {
				f = fs.ShorthandLookup(name)
			}
		}
		if f == nil {
			flag, _, _ := strings.Cut(a, "=")
			return flag
		}
		if !hasValue && f.NoOptDefVal == "" {
			i++ // its value
		}
	}
	return ""
}

// unknownFlagFirst replaces cobra's unknown-command error by the unknown
// flag before the command that caused it.
func unknownFlagFirst(root *cobra.Command, args []string, err error) error {
	if err == nil || !strings.HasPrefix(err.Error(), "unknown command ") {
		return err
	}
	if flag := leadingUnknownFlag(root, args); flag != "" {
		return usageError{fmt.Errorf("unknown flag: %s", flag)}
	}
	return err
}
