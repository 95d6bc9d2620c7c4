// Command sharedwrite writes files on a volume shared by many processes and hosts
// without torn files or lost updates. See the README and `sharedwrite --help`.
package main

import (
	"os"
	"runtime"

	"github.com/sharedwrite/sharedwrite/internal/cli"
)

// The main goroutine keeps the main thread to itself, so the calls the
// commands make on the volume from other goroutines (volumeCalls in
// internal/cli) never hold it. A call on a volume that stops answering (a
// FUSE or NFS server) can hold its thread in the kernel until the server
// answers, even past SIGKILL; the main thread still exits when the command
// gives up, so the process ends (a zombie until that thread is freed) with
// its exit code.
func init() { runtime.LockOSThread() }

func main() { os.Exit(cli.Main(os.Args[1:])) }
