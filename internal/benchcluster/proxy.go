package main

import (
	"context"
	"net"
	"sync"
	"time"
)

// proxy forwards TCP connections from a loopback port to upstream and
// delays every byte by delay in each direction, as a network of that
// one-way latency would: a delay line, so that throughput is kept and
// only latency is added. It stops by itself when its context ends.
type proxy struct {
	upstream string
	delay    time.Duration
	now      func() time.Time
	sleep    func(time.Duration)
	ln       net.Listener

	mu    sync.Mutex
	conns map[net.Conn]struct{}
}

// chunk is what one read took from a connection, and when it is due at
// the other end.
type chunk struct {
	due time.Time
	b   []byte
}

// startProxy listens on 127.0.0.1 and forwards to upstream until ctx
// ends, when it closes the listener and every connection.
func startProxy(ctx context.Context, upstream string, delay time.Duration) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{upstream: upstream, delay: delay, now: time.Now, sleep: time.Sleep, ln: ln, conns: map[net.Conn]struct{}{}}
	go p.serve(ctx)
	return p, nil
}

// addr is the host:port the proxy listens on.
func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve(ctx context.Context) {
	go func() {
		<-ctx.Done()
		_ = p.ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for c := range p.conns {
			_ = c.Close()
		}
		p.conns = nil
	}()
	var d net.Dialer
	for {
		down, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := d.DialContext(ctx, "tcp", p.upstream)
		if err != nil {
			_ = down.Close()
			continue
		}
		if !p.track(down, up) {
			return
		}
		var once sync.Once
		closeBoth := func() {
			once.Do(func() {
				_ = down.Close()
				_ = up.Close()
				p.untrack(down, up)
			})
		}
		go p.pipe(up, down, closeBoth)
		go p.pipe(down, up, closeBoth)
	}
}

// track registers connections, or closes them when the proxy has stopped.
func (p *proxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		for _, c := range cs {
			_ = c.Close()
		}
		return false
	}
	for _, c := range cs {
		p.conns[c] = struct{}{}
	}
	return true
}

func (p *proxy) untrack(cs ...net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range cs {
		delete(p.conns, c)
	}
}

// pipe copies src to dst through the delay line; when src ends or dst
// fails, both connections close (which ends the other direction too).
func (p *proxy) pipe(dst, src net.Conn, closeBoth func()) {
	line := make(chan chunk, 256)
	go func() {
		defer close(line)
		for {
			b := make([]byte, 16<<10)
			n, err := src.Read(b)
			if n > 0 {
				line <- chunk{p.now().Add(p.delay), b[:n]}
			}
			if err != nil {
				return
			}
		}
	}()
	for c := range line {
		if wait := c.due.Sub(p.now()); wait > 0 {
			p.sleep(wait)
		}
		if _, err := dst.Write(c.b); err != nil {
			closeBoth()
		}
	}
	closeBoth()
}
