package tlcp

import (
	"errors"
	"fmt"
)

// sendAlert sends an alert; close_notify and no_renegotiation are warnings,
// all others fatal, after which the connection refuses to write.
func (c *Conn) sendAlert(a AlertError) error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.sendAlertLocked(a)
}

func (c *Conn) sendAlertLocked(a AlertError) error {
	if c.outErr != nil {
		return c.outErr
	}
	level := byte(alertLevelFatal)
	if a == alertCloseNotify || a == alertNoRenegotiation {
		level = alertLevelWarning
	}
	if _, err := c.writeRecordLocked(recordTypeAlert, []byte{level, byte(a)}); err != nil {
		return err
	}
	if err := c.flushLocked(); err != nil {
		return err
	}
	if level == alertLevelFatal || a == alertCloseNotify {
		c.outErr = fmt.Errorf("tlcp: sent alert: %w", a)
	}
	return nil
}

// fail reports a local error to the peer as alert a and returns err, which
// callers return from the handshake or Read.
func (c *Conn) fail(a AlertError, err error) error {
	_ = c.sendAlert(a)
	if !errors.Is(err, a) {
		err = fmt.Errorf("%w (%w)", err, a)
	}
	return err
}

// writeRecordLocked fragments data into records; during the handshake the
// records are buffered until flushLocked.
func (c *Conn) writeRecordLocked(typ recordType, data []byte) (int, error) {
	out := c.outBuf[:0]
	if c.buffering {
		out = c.sendBuf
	}
	n := 0
	for {
		m := min(len(data), maxPlaintext)
		var err error
		if out, err = c.out.seal(out, typ, data[:m], c.config.rand()); err != nil {
			c.outErr = err
			return n, err
		}
		n += m
		if data = data[m:]; len(data) == 0 {
			break
		}
	}
	if c.buffering {
		c.sendBuf = out
		return n, nil
	}
	c.outBuf = out
	if _, err := c.conn.Write(out); err != nil {
		c.outErr = fmt.Errorf("tlcp: write: %w", err)
		return 0, c.outErr
	}
	return n, nil
}

// writeHandshake buffers one handshake message and adds it to the
// transcript.
func (c *Conn) writeHandshake(msg handshakeMessage, t *transcript) error {
	raw := msg.marshal()
	if t != nil {
		t.add(raw)
	}
	c.outMu.Lock()
	defer c.outMu.Unlock()
	_, err := c.writeRecordLocked(recordTypeHandshake, raw)
	return err
}

// writeChangeCipherSpec sends ChangeCipherSpec and switches the write side
// to the pending keys (GB/T 38636-2020 6.4.2).
func (c *Conn) writeChangeCipherSpec() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	if _, err := c.writeRecordLocked(recordTypeChangeCipherSpec, []byte{1}); err != nil {
		return err
	}
	return c.out.changeCipherSpec()
}

// setBuffering turns the buffering of handshake flights on or off.
func (c *Conn) setBuffering(on bool) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	c.buffering = on
}

// flush writes the buffered handshake flight.
func (c *Conn) flush() error {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	return c.flushLocked()
}

func (c *Conn) flushLocked() error {
	if len(c.sendBuf) == 0 {
		return nil
	}
	_, err := c.conn.Write(c.sendBuf)
	c.sendBuf = nil
	if err != nil {
		c.outErr = fmt.Errorf("tlcp: write: %w", err)
		return c.outErr
	}
	return nil
}
