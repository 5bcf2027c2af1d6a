package tlcp

import (
	"errors"
	"fmt"
	"io"
	"os"
)

// readRecord reads records until one makes progress: application data for
// Read, handshake bytes, or (when expectCCS) a ChangeCipherSpec. Errors are
// sticky, except read timeouts.
func (c *Conn) readRecord(expectCCS bool) error {
	if c.inErr != nil {
		return c.inErr
	}
	for {
		progressed, err := c.readOneRecord(expectCCS)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				c.inErr = err
			}
			return err
		}
		if progressed {
			c.emptyCount = 0
			return nil
		}
		if c.emptyCount++; c.emptyCount > maxEmptyRecords {
			c.inErr = c.fail(alertUnexpectedMessage, errors.New("tlcp: too many consecutive empty records or warnings"))
			return c.inErr
		}
	}
}

// readOneRecord reads, opens and dispatches one record (GB/T 38636-2020
// 6.3). It reports whether the record carried data the caller waits for.
func (c *Conn) readOneRecord(expectCCS bool) (bool, error) {
	if err := c.readFromUntil(recordHeaderLen); err != nil {
		if c.rawInput.Len() == 0 && errors.Is(err, io.ErrUnexpectedEOF) {
			return false, io.EOF
		}
		return false, fmt.Errorf("tlcp: reading record header: %w", err)
	}
	hdr := c.rawInput.Bytes()[:recordHeaderLen]
	typ := recordType(hdr[0])
	if vers := uint16(hdr[1])<<8 | uint16(hdr[2]); vers != VersionTLCP {
		return false, c.fail(alertProtocolVersion, fmt.Errorf("tlcp: record version %#04x, want %#04x", vers, VersionTLCP))
	}
	n := int(hdr[3])<<8 | int(hdr[4])
	limit := maxCiphertext
	if c.in.prot == nil {
		limit = maxPlaintext
	}
	if n > limit {
		return false, c.fail(alertRecordOverflow, fmt.Errorf("tlcp: record of %d bytes exceeds the limit of %d", n, limit))
	}
	if err := c.readFromUntil(recordHeaderLen + n); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return false, fmt.Errorf("tlcp: reading record body: %w", err)
	}
	record := c.rawInput.Next(recordHeaderLen + n)
	data, err := c.in.open(record[:recordHeaderLen], record[recordHeaderLen:])
	if err != nil {
		a := alertBadRecordMAC
		if errors.Is(err, alertRecordOverflow) {
			a = alertRecordOverflow
		}
		return false, c.fail(a, err)
	}
	if c.hand.Len() > 0 && typ != recordTypeHandshake {
		return false, c.fail(alertUnexpectedMessage, fmt.Errorf("tlcp: record of type %d inside a fragmented handshake message", typ))
	}

	switch typ {
	case recordTypeAlert:
		if len(data) != 2 {
			return false, c.fail(alertDecodeError, errors.New("tlcp: malformed alert"))
		}
		a := AlertError(data[1])
		switch {
		case a == alertCloseNotify:
			return false, io.EOF
		case data[0] == alertLevelWarning:
			return false, nil
		}
		return false, &RemoteAlertError{Alert: a}
	case recordTypeChangeCipherSpec:
		if !expectCCS || len(data) != 1 || data[0] != 1 {
			return false, c.fail(alertUnexpectedMessage, errors.New("tlcp: unexpected ChangeCipherSpec"))
		}
		if err := c.in.changeCipherSpec(); err != nil {
			return false, c.fail(alertUnexpectedMessage, err)
		}
		return true, nil
	case recordTypeApplicationData:
		if expectCCS || !c.handshakeComplete.Load() {
			return false, c.fail(alertUnexpectedMessage, errors.New("tlcp: application data during the handshake"))
		}
		c.input = data
		return len(data) > 0, nil
	case recordTypeHandshake:
		if expectCCS {
			return false, c.fail(alertUnexpectedMessage, errors.New("tlcp: handshake message where ChangeCipherSpec was expected"))
		}
		if len(data) == 0 {
			return false, c.fail(alertUnexpectedMessage, errors.New("tlcp: empty handshake record"))
		}
		c.hand.Write(data)
		return true, nil
	}
	return false, c.fail(alertUnexpectedMessage, fmt.Errorf("tlcp: record of unknown type %d", typ))
}

// readHandshake returns the next handshake message and its encoding.
func (c *Conn) readHandshake() (handshakeMessage, []byte, error) {
	for c.hand.Len() < 4 {
		if err := c.readRecord(false); err != nil {
			return nil, nil, err
		}
	}
	h := c.hand.Bytes()
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if n > maxHandshake {
		return nil, nil, c.fail(alertDecodeError, fmt.Errorf("tlcp: handshake message of %d bytes exceeds %d", n, maxHandshake))
	}
	for c.hand.Len() < 4+n {
		if err := c.readRecord(false); err != nil {
			return nil, nil, err
		}
	}
	raw := clone(c.hand.Next(4 + n))
	msg := newMessage(raw[0])
	if msg == nil {
		return nil, nil, c.fail(alertUnexpectedMessage, fmt.Errorf("tlcp: unknown handshake message type %d", raw[0]))
	}
	if !msg.unmarshal(raw) {
		return nil, nil, c.fail(alertDecodeError, fmt.Errorf("tlcp: malformed handshake message of type %d", raw[0]))
	}
	return msg, raw, nil
}

// readMsg reads a handshake message of type T and adds it to t.
func readMsg[T handshakeMessage](c *Conn, t *transcript) (T, error) {
	var want T
	msg, raw, err := c.readHandshake()
	if err != nil {
		return want, err
	}
	m, ok := msg.(T)
	if !ok {
		return want, c.fail(alertUnexpectedMessage, fmt.Errorf("tlcp: unexpected handshake message of type %d", raw[0]))
	}
	t.add(raw)
	return m, nil
}

// readChangeCipherSpec reads ChangeCipherSpec and switches the read side to
// the pending keys (GB/T 38636-2020 6.4.2).
func (c *Conn) readChangeCipherSpec() error {
	if c.hand.Len() > 0 {
		return c.fail(alertUnexpectedMessage, errors.New("tlcp: handshake data before ChangeCipherSpec"))
	}
	return c.readRecord(true)
}

// handlePostHandshake refuses renegotiation (HelloRequest to a client,
// ClientHello to a server) with the no_renegotiation warning and fails the
// connection; any other handshake message is unexpected.
func (c *Conn) handlePostHandshake() error {
	msg, raw, err := c.readHandshake()
	if err != nil {
		return err
	}
	if (c.isClient && raw[0] == typeHelloRequest) || (!c.isClient && raw[0] == typeClientHello) {
		_ = c.sendAlert(alertNoRenegotiation)
		c.inErr = fmt.Errorf("tlcp: peer tried to renegotiate (%T): %w", msg, alertNoRenegotiation)
		return c.inErr
	}
	c.inErr = c.fail(alertUnexpectedMessage, fmt.Errorf("tlcp: unexpected handshake message of type %d after the handshake", raw[0]))
	return c.inErr
}
