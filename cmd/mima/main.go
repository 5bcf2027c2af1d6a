// Command mima is the mima server and its command-line client in one
// binary; run `mima --help`.
package main

import (
	"os"

	"github.com/mimacrypto/mima/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }
