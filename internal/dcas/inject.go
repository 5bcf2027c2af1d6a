package dcas

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/emmansun/gmsm/sm2"

	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// InjectMagic starts an injection block.
const InjectMagic = "MINJ"

// maxBlock bounds an injection block read from a file.
const maxBlock = 1 << 24

// InjectRequest asks for the key block of chips, for the injection
// station whose SM2 public key (PEM "PUBLIC KEY") is StationKey.
type InjectRequest struct {
	Chips      []string
	StationKey string
	Version    int
}

// InjectResult is an injection block and the vendor key version.
type InjectResult struct {
	Block   []byte
	Version int
}

// ChipKey is a chip's ChipID and key (ESCK), as the station injects them.
type ChipKey struct {
	ID  []byte
	Key []byte
}

// InjectFormat is the format byte of injection blocks: 2 since they carry
// BL_KEY0.
const InjectFormat = 2

// Opened is an injection block as the station opens it: the chips' keys,
// the loader key BL_KEY0 injected into every one of them, and the vendor
// key version.
type Opened struct {
	Chips   []ChipKey
	BLKey0  []byte
	Version int
}

// Inject returns the injection block of req.Chips: their keys sealed
// with SM4-GCM under a fresh transport key that is SM2-encrypted to the
// station (a GM/T 0009 SM2Cipher), so they never leave mima in clear:
//
//	"MINJ" 0x02 BE32(version) BE32(count) BE16(len(ek)) ek
//	SM4-GCM(tk, BL_KEY0 records, aad = all before)   (nonce || ciphertext || tag)
//
// with each record len8(id) id esck.
func (s *Service) Inject(ctx context.Context, tenant, key string, req InjectRequest) (InjectResult, error) {
	ids, err := chipIDs(req.Chips)
	if err != nil {
		return InjectResult{}, err
	}
	station, err := kms.ParseWrappingKey(req.StationKey)
	if err != nil {
		return InjectResult{}, err
	}
	ds := make([]kms.Derivation, 1, 1+len(ids))
	ds[0] = blDerivation()
	for _, id := range ids {
		ds = append(ds, chipDerivation(id))
	}
	records := make([]byte, 0, BlockSize+len(ids)*(1+16+BlockSize))
	defer func() { clear(records) }()
	v, err := s.keys.DeriveEach(ctx, tenant, key, req.Version, ds, func(_, i int, raw []byte) error {
		if i > 0 {
			records = append(records, byte(len(ids[i-1])))
			records = append(records, ids[i-1]...)
		}
		records = append(records, raw...)
		return nil
	})
	if err != nil {
		return InjectResult{}, err
	}
	tk := make([]byte, sm4gcm.KeySize)
	defer clear(tk)
	if _, err := io.ReadFull(s.keys.Rand(), tk); err != nil {
		return InjectResult{}, fmt.Errorf("dcas: transport key: %w", err)
	}
	ek, err := sm2.EncryptASN1(s.keys.Rand(), station, tk)
	if err != nil {
		return InjectResult{}, fmt.Errorf("dcas: encrypting the transport key: %w", err)
	}
	b := append([]byte(InjectMagic), InjectFormat)
	b = binary.BigEndian.AppendUint32(b, uint32(v))
	b = binary.BigEndian.AppendUint32(b, uint32(len(ids)))
	b = binary.BigEndian.AppendUint16(b, uint16(len(ek)))
	b = append(b, ek...)
	aead, err := sm4gcm.New(tk)
	if err != nil {
		return InjectResult{}, err
	}
	b, err = aead.Seal(b, s.keys.Rand(), records, b)
	if err != nil {
		return InjectResult{}, fmt.Errorf("dcas: sealing the chip keys: %w", err)
	}
	return InjectResult{Block: b, Version: v}, nil
}

// ErrBlock is returned for an injection block that does not open.
var ErrBlock = errors.New("dcas: the injection block does not open")

// OpenBlock is the station's side of Inject: it decrypts a block with
// the station's private key.
func OpenBlock(station *sm2.PrivateKey, block []byte) (Opened, error) {
	const fixed = len(InjectMagic) + 1 + 4 + 4 + 2
	if len(block) < fixed || string(block[:4]) != InjectMagic || block[4] != InjectFormat {
		return Opened{}, ErrBlock
	}
	v := int(binary.BigEndian.Uint32(block[5:]))
	count := int(binary.BigEndian.Uint32(block[9:]))
	n := int(binary.BigEndian.Uint16(block[13:]))
	if len(block) < fixed+n {
		return Opened{}, ErrBlock
	}
	tk, err := station.Decrypt(nil, block[fixed:fixed+n], nil)
	if err != nil || len(tk) != sm4gcm.KeySize {
		return Opened{}, ErrBlock
	}
	defer clear(tk)
	aead, err := sm4gcm.New(tk)
	if err != nil {
		return Opened{}, ErrBlock
	}
	records, err := aead.Open(nil, block[fixed+n:], block[:fixed+n])
	if err != nil {
		return Opened{}, ErrBlock
	}
	if len(records) < BlockSize {
		return Opened{}, ErrBlock
	}
	o := Opened{BLKey0: records[:BlockSize], Chips: make([]ChipKey, 0, count), Version: v}
	for records = records[BlockSize:]; len(records) > 0; {
		l := int(records[0])
		if len(records) < 1+l+BlockSize {
			return Opened{}, ErrBlock
		}
		o.Chips = append(o.Chips, ChipKey{ID: records[1 : 1+l], Key: records[1+l : 1+l+BlockSize]})
		records = records[1+l+BlockSize:]
	}
	if len(o.Chips) != count {
		return Opened{}, ErrBlock
	}
	return o, nil
}

// WriteBlock appends a block to an injection file: BE32(len) block.
func WriteBlock(w io.Writer, block []byte) error {
	if _, err := w.Write(binary.BigEndian.AppendUint32(nil, uint32(len(block)))); err != nil {
		return err
	}
	_, err := w.Write(block)
	return err
}

// ReadBlocks calls fn with each block of an injection file in turn.
func ReadBlocks(r io.Reader, fn func(block []byte) error) error {
	br := bufio.NewReader(r)
	var n [4]byte
	for {
		if _, err := io.ReadFull(br, n[:]); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("dcas: reading a block length: %w", err)
		}
		size := binary.BigEndian.Uint32(n[:])
		if size > maxBlock {
			return fmt.Errorf("%w: a block of %d bytes", ErrBlock, size)
		}
		block := make([]byte, size)
		if _, err := io.ReadFull(br, block); err != nil {
			return fmt.Errorf("dcas: reading a block: %w", err)
		}
		if err := fn(block); err != nil {
			return err
		}
	}
}
