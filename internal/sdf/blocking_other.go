//go:build !linux

package sdf

import (
	"net"
	"time"
)

// blocking keeps c as it is: blocking sockets are used on Linux only.
func blocking(c net.Conn, _ time.Duration) (net.Conn, error) { return c, nil }
