// Command sharedwrite writes files on a volume shared by many processes and hosts
// without torn files or lost updates. See the README and `sharedwrite --help`.
package main

import (
	"os"

	"github.com/sharedwrite/sharedwrite/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:])) }
