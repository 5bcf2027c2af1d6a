// Package dcasterm simulates the security chip of a DCAS terminal: it
// holds only its ChipID and injected key (ESCK), takes the EMMs meant for
// it, and unwinds the three-level SM4 key ladder (ESCK → session key →
// control-word key → control word) to recover the control word of each
// ECM. It is the other side of package dcas, written from the formats of
// docs/media.md, and what the tests of the ladder run against.
package dcasterm

import (
	"bytes"
	"crypto/cipher"
	"encoding/binary"
	"errors"

	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/dcas"
)

// Errors of the terminal.
var (
	// ErrFormat: the message does not parse.
	ErrFormat = errors.New("dcasterm: malformed message")
	// ErrNotForMe: the EMM names another chip.
	ErrNotForMe = errors.New("dcasterm: the EMM is for another chip")
	// ErrMAC: the message's MAC does not verify.
	ErrMAC = errors.New("dcasterm: the message's MAC does not verify")
	// ErrNotEntitled: no EMM gave the control-word key of the ECM's period.
	ErrNotEntitled = errors.New("dcasterm: not entitled to this period")
)

const fixed = 4 + 1 + 4 + 4 + 1 // magic, format, version, period, length

type period struct{ version, period uint32 }

// Terminal is one chip. It is not safe for concurrent use.
type Terminal struct {
	id   []byte
	chip cipher.Block
	cwks map[period][]byte
}

// New returns the terminal of a chip with its injected key.
func New(chipID, esck []byte) (*Terminal, error) {
	chip, err := sm4.NewCipher(esck)
	if err != nil {
		return nil, err
	}
	return &Terminal{id: bytes.Clone(chipID), chip: chip, cwks: map[period][]byte{}}, nil
}

// message splits an EMM or ECM: its period, the length-prefixed name
// (ChipID or channel), the n encrypted blocks, after checking its MAC
// under the key SM4(c, label).
func message(msg []byte, magic string, n int, c cipher.Block, label [dcas.BlockSize]byte) (period, []byte, []byte, error) {
	if len(msg) < fixed || string(msg[:4]) != magic || msg[4] != dcas.Format1 {
		return period{}, nil, nil, ErrFormat
	}
	l := int(msg[fixed-1])
	if len(msg) != fixed+l+(n+1)*dcas.BlockSize {
		return period{}, nil, nil, ErrFormat
	}
	p := period{binary.BigEndian.Uint32(msg[5:]), binary.BigEndian.Uint32(msg[9:])}
	body, mac := msg[:len(msg)-dcas.BlockSize], msg[len(msg)-dcas.BlockSize:]
	if c != nil {
		want, err := dcas.MAC(c, label, body)
		if err != nil || !dcas.EqualMAC(want, mac) {
			return p, nil, nil, ErrMAC
		}
	}
	return p, msg[fixed : fixed+l], body[fixed+l:], nil
}

// ProcessEMM takes an EMM: if it is for this chip and its MAC verifies,
// the terminal keeps the period's control-word key.
func (t *Terminal) ProcessEMM(emm []byte) error {
	_, id, _, err := message(emm, dcas.EMMMagic, 2, nil, dcas.EMMMACLabel)
	if err != nil {
		return err
	}
	if !bytes.Equal(id, t.id) {
		return ErrNotForMe
	}
	p, _, blocks, err := message(emm, dcas.EMMMagic, 2, t.chip, dcas.EMMMACLabel)
	if err != nil {
		return err
	}
	sk := make([]byte, dcas.BlockSize)
	defer clear(sk)
	t.chip.Decrypt(sk, blocks[:dcas.BlockSize])
	session, err := sm4.NewCipher(sk)
	if err != nil {
		return err
	}
	cwk := make([]byte, dcas.BlockSize)
	session.Decrypt(cwk, blocks[dcas.BlockSize:])
	t.cwks[p] = cwk
	return nil
}

// ControlWord unwinds an ECM to its control word and returns the channel
// it names.
func (t *Terminal) ControlWord(ecm []byte) (cw []byte, channel string, err error) {
	p, _, _, err := message(ecm, dcas.ECMMagic, 1, nil, dcas.ECMMACLabel)
	if err != nil {
		return nil, "", err
	}
	cwk, ok := t.cwks[p]
	if !ok {
		return nil, "", ErrNotEntitled
	}
	block, err := sm4.NewCipher(cwk)
	if err != nil {
		return nil, "", err
	}
	_, name, blocks, err := message(ecm, dcas.ECMMagic, 1, block, dcas.ECMMACLabel)
	if err != nil {
		return nil, "", err
	}
	cw = make([]byte, dcas.BlockSize)
	block.Decrypt(cw, blocks)
	return cw, string(name), nil
}
