package tlcp

import (
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// newRandom draws a Random: gmt_unix_time followed by 28 random bytes
// (GB/T 38636-2020 6.4.5.2.1).
func newRandom(c *Config) ([]byte, error) {
	r := make([]byte, randomLen)
	binary.BigEndian.PutUint32(r, uint32(c.time().Unix()))
	if _, err := io.ReadFull(c.rand(), r[4:]); err != nil {
		return nil, fmt.Errorf("tlcp: drawing random: %w", err)
	}
	return r, nil
}

// setPendingKeys derives the key block and installs it as the pending
// protection of both directions (GB/T 38636-2020 6.5.2).
func (c *Conn) setPendingKeys(s *cipherSuite, master, clientRandom, serverRandom []byte) error {
	kb := keysFromMaster(s, master, clientRandom, serverRandom)
	client, err := s.newProtection(kb.clientMAC, kb.clientKey, kb.clientIV)
	if err != nil {
		return err
	}
	server, err := s.newProtection(kb.serverMAC, kb.serverKey, kb.serverIV)
	if err != nil {
		return err
	}
	if c.isClient {
		client, server = server, client
	}
	c.in.setPending(client)
	c.outMu.Lock()
	c.out.setPending(server)
	c.outMu.Unlock()
	return nil
}

// sendFinished sends ChangeCipherSpec and Finished (GB/T 38636-2020 6.4.2,
// 6.4.5.10) and flushes the flight.
func (c *Conn) sendFinished(t *transcript, master []byte) error {
	if err := c.writeChangeCipherSpec(); err != nil {
		return err
	}
	if err := c.writeHandshake(&finishedMsg{verifyData: t.finished(master, c.isClient)}, t); err != nil {
		return err
	}
	return c.flush()
}

// readFinished reads the peer's ChangeCipherSpec and Finished and checks
// verify_data.
func (c *Conn) readFinished(t *transcript, master []byte) error {
	if err := c.readChangeCipherSpec(); err != nil {
		return err
	}
	want := t.finished(master, !c.isClient)
	fin, err := readMsg[*finishedMsg](c, t)
	if err != nil {
		return err
	}
	if subtle.ConstantTimeCompare(fin.verifyData, want) != 1 {
		return c.fail(alertDecryptError, errors.New("tlcp: peer's Finished verify_data is wrong"))
	}
	return nil
}

// selectSuite returns the first suite of prefs that offered contains and
// allow accepts.
func selectSuite(prefs, offered []uint16, allow func(*cipherSuite) bool) *cipherSuite {
	for _, id := range prefs {
		s := suiteByID(id)
		if s == nil || !allow(s) {
			continue
		}
		for _, o := range offered {
			if o == id {
				return s
			}
		}
	}
	return nil
}
