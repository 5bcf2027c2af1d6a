// Package dcas is the security data platform of a downloadable
// conditional-access system (DCAS, GY/T 255-2012, GY/T 308-2017) on
// mima's keys: per-chip root keys derived from a vendor root key, the
// three-level SM4 key ladder carried by entitlement management and
// control messages (EMMs, ECMs), and the key blocks of the injection
// station. docs/media.md describes the formats; package dcasterm is the
// terminal's side.
//
// Nothing is stored: a chip's key (ESCK) is the per-device key of its
// ChipID under the vendor key (kms.Derivation{DeviceID: ChipID}), and an
// entitlement period's control-word key is the per-device key of
// "dcas:period:N", so both are recomputed on demand and no table of chip
// keys exists.
package dcas

import (
	"context"
	"crypto/cipher"
	"crypto/subtle"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/emmansun/gmsm/cbcmac"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
)

// The magic and format byte of EMMs and ECMs (docs/media.md).
const (
	EMMMagic = "MEMM"
	ECMMagic = "MECM"
	Format1  = 1
	// BlockSize is the size of every key, control word and MAC.
	BlockSize = 16
	// MaxChips bounds the chips of one request.
	MaxChips = 10000
	// MaxChannel bounds the length of a channel name.
	MaxChannel = 64
)

// EMMMACLabel and ECMMACLabel are the constants each MAC key is the SM4 encryption of, under the chip key
// (EMMs) or the control-word key (ECMs).
var (
	EMMMACLabel = [BlockSize]byte([]byte("MIMA DCAS EMM MK"))
	ECMMACLabel = [BlockSize]byte([]byte("MIMA DCAS ECM MK"))
)

// Keys is what the ladder needs of the key service.
type Keys interface {
	DeriveEach(ctx context.Context, tenant, key string, version int, ds []kms.Derivation, fn func(v, i int, raw []byte) error) (int, error)
	Rand() io.Reader
}

// Service makes EMMs, ECMs and injection blocks under vendor root keys:
// derived=true sm4 keys of the key service.
type Service struct{ keys Keys }

// New returns a Service on keys.
func New(keys Keys) *Service { return &Service{keys: keys} }

// EMMRequest asks for the EMMs of chips for one entitlement period.
type EMMRequest struct {
	Chips   []string
	Period  int64
	Version int // of the vendor key; 0 for the latest
}

// EMMResult holds one EMM per chip, in the order asked, and the vendor
// key version that made them.
type EMMResult struct {
	EMMs    [][]byte
	Version int
}

// ECMRequest asks for the ECM of a channel's next crypto period within an
// entitlement period. CW is the control word the scrambler uses; when
// empty, a fresh random one is made and returned.
type ECMRequest struct {
	Channel string
	Period  int64
	CW      []byte
	Version int
}

// ECMResult is an ECM, the control word it carries and the vendor key
// version.
type ECMResult struct {
	ECM     []byte
	CW      []byte
	Version int
}

// EMMs returns the EMM of each chip for req.Period: under the chip's
// ladder, a fresh session key and the period's control-word key.
func (s *Service) EMMs(ctx context.Context, tenant, key string, req EMMRequest) (EMMResult, error) {
	ids, err := chipIDs(req.Chips)
	if err != nil {
		return EMMResult{}, err
	}
	period, err := checkPeriod(req.Period)
	if err != nil {
		return EMMResult{}, err
	}
	ds := make([]kms.Derivation, 1, 1+len(ids))
	ds[0] = periodDerivation(period)
	for _, id := range ids {
		ds = append(ds, chipDerivation(id))
	}
	var cwk []byte
	defer func() { clear(cwk) }()
	out := make([][]byte, len(ids))
	v, err := s.keys.DeriveEach(ctx, tenant, key, req.Version, ds, func(v, i int, raw []byte) error {
		if i == 0 {
			cwk = append(cwk, raw...)
			return nil
		}
		var err error
		out[i-1], err = s.emm(raw, cwk, ids[i-1], uint32(v), period)
		return err
	})
	if err != nil {
		return EMMResult{}, err
	}
	return EMMResult{EMMs: out, Version: v}, nil
}

// emm makes the EMM of chip id under its key esck:
//
//	"MEMM" 0x01 BE32(version) BE32(period) len8(id) id
//	SM4(esck, sk) SM4(sk, cwk) CMAC(SM4(esck, "MIMA DCAS EMM MK"), all before)
func (s *Service) emm(esck, cwk, id []byte, version, period uint32) ([]byte, error) {
	var sk [BlockSize]byte
	defer clear(sk[:])
	if _, err := io.ReadFull(s.keys.Rand(), sk[:]); err != nil {
		return nil, fmt.Errorf("dcas: session key: %w", err)
	}
	chip, err := sm4.NewCipher(esck)
	if err != nil {
		return nil, err
	}
	session, err := sm4.NewCipher(sk[:])
	if err != nil {
		return nil, err
	}
	b := make([]byte, 0, 14+len(id)+3*BlockSize)
	b = header(b, EMMMagic, version, period)
	b = append(b, byte(len(id)))
	b = append(b, id...)
	b = encryptBlock(b, chip, sk[:])
	b = encryptBlock(b, session, cwk)
	return appendMAC(b, chip, EMMMACLabel)
}

// ECM returns the ECM of req.Channel for req.Period: the control word
// under the period's control-word key:
//
//	"MECM" 0x01 BE32(version) BE32(period) len8(channel) channel
//	SM4(cwk, cw) CMAC(SM4(cwk, "MIMA DCAS ECM MK"), all before)
func (s *Service) ECM(ctx context.Context, tenant, key string, req ECMRequest) (ECMResult, error) {
	period, err := checkPeriod(req.Period)
	if err != nil {
		return ECMResult{}, err
	}
	if req.Channel == "" || len(req.Channel) > MaxChannel {
		return ECMResult{}, invalid("a channel is 1 to %d bytes", MaxChannel)
	}
	cw := req.CW
	switch len(cw) {
	case 0:
		cw = make([]byte, BlockSize)
		if _, err := io.ReadFull(s.keys.Rand(), cw); err != nil {
			return ECMResult{}, fmt.Errorf("dcas: control word: %w", err)
		}
	case BlockSize:
	default:
		return ECMResult{}, invalid("a control word is %d bytes, not %d", BlockSize, len(cw))
	}
	var ecm []byte
	v, err := s.keys.DeriveEach(ctx, tenant, key, req.Version, []kms.Derivation{periodDerivation(period)}, func(v, _ int, cwk []byte) error {
		block, err := sm4.NewCipher(cwk)
		if err != nil {
			return err
		}
		b := make([]byte, 0, 14+len(req.Channel)+2*BlockSize)
		b = header(b, ECMMagic, uint32(v), period)
		b = append(b, byte(len(req.Channel)))
		b = append(b, req.Channel...)
		b = encryptBlock(b, block, cw)
		ecm, err = appendMAC(b, block, ECMMACLabel)
		return err
	})
	if err != nil {
		return ECMResult{}, err
	}
	return ECMResult{ECM: ecm, CW: cw, Version: v}, nil
}

func header(b []byte, magic string, version, period uint32) []byte {
	b = append(b, magic...)
	b = append(b, Format1)
	b = binary.BigEndian.AppendUint32(b, version)
	return binary.BigEndian.AppendUint32(b, period)
}

func encryptBlock(b []byte, c cipher.Block, src []byte) []byte {
	b = append(b, make([]byte, BlockSize)...)
	c.Encrypt(b[len(b)-BlockSize:], src)
	return b
}

// appendMAC appends the SM4-CMAC of b under the key SM4(c, label).
func appendMAC(b []byte, c cipher.Block, label [BlockSize]byte) ([]byte, error) {
	mac, err := MAC(c, label, b)
	if err != nil {
		return nil, err
	}
	return append(b, mac...), nil
}

// MAC returns the SM4-CMAC (GB/T 15852.1 MAC scheme 5) of msg under the
// key SM4(c, label): how EMMs and ECMs are authenticated.
func MAC(c cipher.Block, label [BlockSize]byte, msg []byte) ([]byte, error) {
	var mk [BlockSize]byte
	defer clear(mk[:])
	c.Encrypt(mk[:], label[:])
	mb, err := sm4.NewCipher(mk[:])
	if err != nil {
		return nil, err
	}
	return cbcmac.NewCMAC(mb, BlockSize).MAC(msg), nil
}

// EqualMAC compares two MACs in constant time.
func EqualMAC(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

// periodDerivation names the control-word key of a period. Its device id
// has colons, which no ChipID (hex) has.
func periodDerivation(period uint32) kms.Derivation {
	return kms.Derivation{DeviceID: "dcas:period:" + strconv.FormatUint(uint64(period), 10)}
}

// chipDerivation names the key of a chip: its ChipID in upper-case hex,
// so that `mima derive --device-id` gives the same key.
func chipDerivation(id []byte) kms.Derivation {
	return kms.Derivation{DeviceID: strings.ToUpper(hex.EncodeToString(id))}
}

func checkPeriod(p int64) (uint32, error) {
	if p < 0 || p > math.MaxUint32 {
		return 0, invalid("period must be 0 to %d, not %d", uint32(math.MaxUint32), p)
	}
	return uint32(p), nil
}

// ParseChipID reads a ChipID: 8 to 32 hex digits (4 to 16 bytes), either
// case.
func ParseChipID(s string) ([]byte, error) {
	id, err := hex.DecodeString(s)
	if err != nil || len(id) < 4 || len(id) > 16 {
		return nil, invalid("a ChipID is 8 to 32 hex digits, not %q", clip(s))
	}
	return id, nil
}

func chipIDs(chips []string) ([][]byte, error) {
	if len(chips) == 0 || len(chips) > MaxChips {
		return nil, invalid("give 1 to %d chips, not %d", MaxChips, len(chips))
	}
	ids := make([][]byte, len(chips))
	for i, c := range chips {
		id, err := ParseChipID(c)
		if err != nil {
			return nil, fmt.Errorf("chip %d: %w", i, err)
		}
		ids[i] = id
	}
	return ids, nil
}

// clip shortens a bad value quoted in an error.
func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

func invalid(format string, args ...any) error {
	return fault.New(fault.InvalidArgument, format, args...)
}
