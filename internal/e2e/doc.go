// Package e2e holds end-to-end tests that build the mima binary and drive
// it as an operator would: real processes, a real bolt store on disk,
// restarts, SIGKILL and the CLI. It has no non-test code.
package e2e
