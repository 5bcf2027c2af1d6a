package main

import (
	"context"
	"io"
	"net"
)

// startRelay listens on a loopback port and copies every connection's
// bytes to and from upstream, parsing nothing: what any relay between
// pgbench and PostgreSQL costs, for comparison with the proxy. It stops
// when ctx ends.
func startRelay(ctx context.Context, upstream string) (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	go func() {
		<-ctx.Done()
		_ = ln.Close()
	}()
	go func() {
		for {
			down, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer down.Close()
				up, err := net.Dial("tcp", upstream)
				if err != nil {
					return
				}
				defer up.Close()
				go func() {
					_, _ = io.Copy(up, down)
					_ = up.Close()
				}()
				_, _ = io.Copy(down, up)
			}()
		}
	}()
	return ln.Addr().String(), nil
}
