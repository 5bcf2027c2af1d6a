//go:build !unix

package cli

import "net"

// drainQueued does nothing where datagrams cannot be read without
// waiting: the datagrams queued when the relay stops are lost.
func drainQueued(net.PacketConn, []byte, func([]byte) error) error { return nil }
