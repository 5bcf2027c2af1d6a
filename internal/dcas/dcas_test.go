package dcas_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"testing"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/smx509"

	"github.com/mimacrypto/mima/internal/dcas"
	"github.com/mimacrypto/mima/internal/dcas/dcasterm"
	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
	"github.com/mimacrypto/mima/internal/kms"
	"github.com/mimacrypto/mima/internal/storage/inmem"
)

type env struct {
	s    *dcas.Service
	keys *kms.Service
}

// newEnv returns a ladder on an in-memory store with the vendor root key
// "vendor" (derived sm4) in tenant "tv".
func newEnv(t testing.TB) env {
	t.Helper()
	ctx := context.Background()
	keys := kms.New(device.NewSoftware())
	if err := keys.Unsealed(ctx, inmem.New()); err != nil {
		t.Fatal(err)
	}
	if _, err := keys.Create(ctx, "tv", kms.CreateRequest{Name: "vendor", Type: device.SM4, Derived: true}); err != nil {
		t.Fatal(err)
	}
	return env{s: dcas.New(keys), keys: keys}
}

// chips returns n ChipIDs.
func chips(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("%016X", 0x5A00000000000000+i)
	}
	return ids
}

// station makes an injection station's key pair.
func station(t testing.TB) (*sm2.PrivateKey, string) {
	t.Helper()
	priv, err := sm2.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := smx509.MarshalPKIXPublicKey(&priv.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return priv, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

// terminals injects chips through an injection block, as the station
// would, and returns their terminals.
func (e env) terminals(t *testing.T, ids []string) []*dcasterm.Terminal {
	t.Helper()
	priv, pub := station(t)
	res, err := e.s.Inject(context.Background(), "tv", "vendor", dcas.InjectRequest{Chips: ids, StationKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	var file bytes.Buffer
	if err := dcas.WriteBlock(&file, res.Block); err != nil {
		t.Fatal(err)
	}
	var terms []*dcasterm.Terminal
	err = dcas.ReadBlocks(&file, func(block []byte) error {
		o, err := dcas.OpenBlock(priv, block)
		if err != nil || o.Version != 1 {
			return fmt.Errorf("OpenBlock: v%d, %w", o.Version, err)
		}
		for _, k := range o.Chips {
			term, err := dcasterm.New(k.ID, k.Key)
			if err != nil {
				return err
			}
			terms = append(terms, term)
		}
		return nil
	})
	if err != nil || len(terms) != len(ids) {
		t.Fatalf("%d terminals of %d, %v", len(terms), len(ids), err)
	}
	return terms
}

// TestLadderRevocation runs the ladder end to end: chips injected from a
// block, EMMs for period 1 to all of them and for period 2 to all but the
// revoked one, ECMs of both periods. Every entitled terminal recovers the
// head-end's control word; the revoked chip still has period 1 and not
// period 2.
func TestLadderRevocation(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ids := chips(5)
	terms := e.terminals(t, ids)
	revoked := 3
	for period, entitled := range map[int64][]string{1: ids, 2: append(append([]string{}, ids[:revoked]...), ids[revoked+1:]...)} {
		res, err := e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Chips: entitled, Period: period})
		if err != nil || len(res.EMMs) != len(entitled) {
			t.Fatalf("EMMs: %d, %v", len(res.EMMs), err)
		}
		for _, emm := range res.EMMs {
			for _, term := range terms {
				if err := term.ProcessEMM(emm); err != nil && !errors.Is(err, dcasterm.ErrNotForMe) {
					t.Fatalf("period %d: ProcessEMM: %v", period, err)
				}
			}
		}
	}
	for period := int64(1); period <= 2; period++ {
		ecm, err := e.s.ECM(ctx, "tv", "vendor", dcas.ECMRequest{Channel: "CCTV-1", Period: period})
		if err != nil || len(ecm.CW) != dcas.BlockSize {
			t.Fatalf("ECM: %+v, %v", ecm, err)
		}
		for i, term := range terms {
			cw, channel, err := term.ControlWord(ecm.ECM)
			if period == 2 && i == revoked {
				if !errors.Is(err, dcasterm.ErrNotEntitled) {
					t.Fatalf("the revoked chip in period 2: %x, %v", cw, err)
				}
				continue
			}
			if err != nil || !bytes.Equal(cw, ecm.CW) || channel != "CCTV-1" {
				t.Fatalf("chip %d period %d: cw %x (want %x) on %q, %v", i, period, cw, ecm.CW, channel, err)
			}
		}
	}
}

// TestLadderTamper: a changed bit anywhere in an EMM or ECM fails its MAC
// or its format; another chip's EMM is not taken.
func TestLadderTamper(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	ids := chips(2)
	terms := e.terminals(t, ids)
	emms, err := e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Chips: ids[:1], Period: 7})
	if err != nil {
		t.Fatal(err)
	}
	emm := emms.EMMs[0]
	if err := terms[1].ProcessEMM(emm); !errors.Is(err, dcasterm.ErrNotForMe) {
		t.Fatalf("another chip's EMM: %v", err)
	}
	for i := range emm {
		bad := bytes.Clone(emm)
		bad[i] ^= 0x01
		if err := terms[0].ProcessEMM(bad); err == nil {
			t.Fatalf("an EMM with byte %d changed is taken", i)
		}
	}
	if err := terms[0].ProcessEMM(emm); err != nil {
		t.Fatal(err)
	}
	ecm, err := e.s.ECM(ctx, "tv", "vendor", dcas.ECMRequest{Channel: "c", Period: 7, CW: bytes.Repeat([]byte{7}, 16)})
	if err != nil || !bytes.Equal(ecm.CW, bytes.Repeat([]byte{7}, 16)) {
		t.Fatalf("ECM with a given CW: %+v, %v", ecm, err)
	}
	for i := range ecm.ECM {
		bad := bytes.Clone(ecm.ECM)
		bad[i] ^= 0x80
		if cw, _, err := terms[0].ControlWord(bad); err == nil {
			t.Fatalf("an ECM with byte %d changed gives %x", i, cw)
		}
	}
}

// TestChipKeyIsPerDeviceKey: a chip's injected key is the per-device key
// of its ChipID (upper-case hex), as `mima derive --device-id` gives it.
func TestChipKeyIsPerDeviceKey(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	priv, pub := station(t)
	res, err := e.s.Inject(ctx, "tv", "vendor", dcas.InjectRequest{Chips: []string{"00ab12cd"}, StationKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	o, err := dcas.OpenBlock(priv, res.Block)
	if err != nil || len(o.Chips) != 1 {
		t.Fatal(o, err)
	}
	keys := o.Chips
	d, err := e.keys.Derive(ctx, "tv", "vendor", kms.DeriveRequest{Derivation: kms.Derivation{DeviceID: "00AB12CD"}, WithPlaintext: true})
	if err != nil {
		t.Fatal(err)
	}
	if hex.EncodeToString(keys[0].ID) != "00ab12cd" || !bytes.Equal(keys[0].Key, d.Plaintext) {
		t.Fatalf("injected %x %x, derived %x", keys[0].ID, keys[0].Key, d.Plaintext)
	}
	other, _ := station(t)
	if _, err := dcas.OpenBlock(other, res.Block); !errors.Is(err, dcas.ErrBlock) {
		t.Fatalf("another station opens the block: %v", err)
	}
	bad := bytes.Clone(res.Block)
	bad[len(bad)-20] ^= 1
	if _, err := dcas.OpenBlock(priv, bad); !errors.Is(err, dcas.ErrBlock) {
		t.Fatalf("a changed block opens: %v", err)
	}
}

// TestBadRequests: bad input is invalid_argument.
func TestBadRequests(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	_, pub := station(t)
	for name, err := range map[string]error{
		"no chips":    second(e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Period: 1})),
		"short chip":  second(e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Chips: []string{"abcd"}, Period: 1})),
		"not hex":     second(e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Chips: []string{"zz00zz00"}, Period: 1})),
		"too many":    second(e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Chips: chips(dcas.MaxChips + 1), Period: 1})),
		"period":      second(e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Chips: chips(1), Period: -1})),
		"no channel":  second(e.s.ECM(ctx, "tv", "vendor", dcas.ECMRequest{Period: 1})),
		"short cw":    second(e.s.ECM(ctx, "tv", "vendor", dcas.ECMRequest{Channel: "c", CW: []byte{1}})),
		"station":     second(e.s.Inject(ctx, "tv", "vendor", dcas.InjectRequest{Chips: chips(1), StationKey: "x"})),
		"not derived": second(e.s.Inject(ctx, "tv", "plain", dcas.InjectRequest{Chips: chips(1), StationKey: pub})),
	} {
		code := fault.InvalidArgument
		if name == "not derived" {
			code = fault.KeyNotFound
		}
		if fault.CodeOf(err) != code {
			t.Errorf("%s: %v, want %s", name, err, code)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// BenchmarkEMM measures one EMM, for the 3,000,000 chips of a period.
func BenchmarkEMM(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	ids := chips(1000)
	b.ResetTimer()
	for i := 0; i < b.N; i += len(ids) {
		if _, err := e.s.EMMs(ctx, "tv", "vendor", dcas.EMMRequest{Chips: ids, Period: 1}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkECM measures one ECM, for 500 channels every 10 s.
func BenchmarkECM(b *testing.B) {
	ctx := context.Background()
	e := newEnv(b)
	for b.Loop() {
		if _, err := e.s.ECM(ctx, "tv", "vendor", dcas.ECMRequest{Channel: "CCTV-1", Period: 1}); err != nil {
			b.Fatal(err)
		}
	}
}
