//go:build unix

package cli

import (
	"net"
	"syscall"
)

// drainQueued hands the datagrams already queued on in to handle,
// without waiting for more: what a sender sent before the relay was
// stopped is still relayed.
func drainQueued(in net.PacketConn, buf []byte, handle func([]byte) error) error {
	sc, ok := in.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return err
	}
	var herr error
	err = rc.Read(func(fd uintptr) bool {
		for herr == nil {
			n, _, err := syscall.Recvfrom(int(fd), buf, syscall.MSG_DONTWAIT)
			if err != nil {
				break
			}
			herr = handle(buf[:n])
		}
		return true
	})
	if herr != nil {
		return herr
	}
	return err
}
