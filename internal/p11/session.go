package p11

import (
	"context"
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/sdf"
)

// Session is an application's session on a slot: its object search and
// its one operation in progress. Its methods are safe for concurrent use.
type Session struct {
	Slot *Slot
	RW   bool

	mu      sync.Mutex
	finding bool
	found   []uint
	op      *operation
}

// operation is a sign, verify or digest between its Init and its end.
type operation struct {
	kind   string // "sign", "verify", "digest"
	mech   uint
	key    *Object
	hash   hash.Hash
	result []byte // made by a call whose buffer was too small or absent
}

// FindInit starts a search for the objects that have every attribute of
// template; it needs a login (every object is a key of the tenant).
func (s *Session) FindInit(ctx context.Context, template []Attribute) error {
	srv, err := s.Slot.server()
	if err != nil {
		return err
	}
	s.mu.Lock()
	active := s.finding
	s.mu.Unlock()
	if active {
		return fail(OperationActive, "a search is active")
	}
	keys, err := srv.keys(ctx)
	if err != nil {
		return err
	}
	var found []uint
	add := func(name string, class, keyType uint) {
		h := s.Slot.object(name, class, keyType)
		if o, err := s.Slot.Object(h); err == nil && o.matches(ctx, template) {
			found = append(found, h)
		}
	}
	for _, k := range keys {
		switch k.Type {
		case "sm2":
			add(k.Name, ClassPrivateKey, KeyTypeSM2)
			add(k.Name, ClassPublicKey, KeyTypeSM2)
		case "sm4":
			add(k.Name, ClassSecretKey, KeyTypeSM4)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finding, s.found = true, found
	return nil
}

// Find returns up to n more handles of the search.
func (s *Session) Find(n int) ([]uint, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.finding {
		return nil, fail(OperationNotInitialized, "no search")
	}
	n = min(n, len(s.found))
	out := s.found[:n]
	s.found = s.found[n:]
	return out, nil
}

// FindFinal ends the search.
func (s *Session) FindFinal() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.finding {
		return fail(OperationNotInitialized, "no search")
	}
	s.finding, s.found = false, nil
	return nil
}

// start begins op unless another operation is active.
func (s *Session) start(op *operation) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.op != nil {
		return fail(OperationActive, "a %s operation is active", s.op.kind)
	}
	s.op = op
	return nil
}

// current is the active operation of kind.
func (s *Session) current(kind string) (*operation, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.op == nil || s.op.kind != kind {
		return nil, fail(OperationNotInitialized, "no %s operation", kind)
	}
	return s.op, nil
}

// End ends the active operation.
func (s *Session) End() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.op = nil
}

// signMechanisms tells, for each signing mechanism, whether its input is
// a 32-byte digest and whether its signature is DER (else r || s).
var signMechanisms = map[uint]struct{ prehashed, der bool }{
	MechSM3SM2:       {false, false},
	MechSM3SM2DER:    {false, true},
	MechSM2Sign:      {true, true},
	MechSM2SignNoDER: {true, false},
}

// keyInit checks that handle h is an SM2 key of class for mech and starts
// an operation of kind with it.
func (s *Session) keyInit(kind string, mech, h, class uint) error {
	if _, err := s.Slot.server(); err != nil {
		return err
	}
	if _, ok := signMechanisms[mech]; !ok {
		return fail(MechanismInvalid, "mechanism 0x%X does not %s (SM2: 0x%X)", mech, kind, MechSM3SM2)
	}
	o, err := s.Slot.Object(h)
	if err != nil {
		return &Error{RV: KeyHandleInvalid, Err: err}
	}
	if o.Class != class || o.KeyType != KeyTypeSM2 {
		return fail(KeyTypeInconsistent, "object %d cannot %s with mechanism 0x%X", h, kind, mech)
	}
	return s.start(&operation{kind: kind, mech: mech, key: o})
}

// SignInit starts signing with the private key object h.
func (s *Session) SignInit(mech, h uint) error { return s.keyInit("sign", mech, h, ClassPrivateKey) }

// VerifyInit starts verifying with the public key object h.
func (s *Session) VerifyInit(mech, h uint) error {
	return s.keyInit("verify", mech, h, ClassPublicKey)
}

// input checks data for mech: a digest is 32 bytes.
func input(mech uint, data []byte) error {
	if signMechanisms[mech].prehashed && len(data) != 32 {
		return fail(DataLenRange, "mechanism 0x%X signs a 32-byte digest, not %d bytes", mech, len(data))
	}
	return nil
}

// Sign signs data. The operation stays active (the caller asked for the
// length or gave too small a buffer) until End; its signature is kept
// so that the next call returns the same.
func (s *Session) Sign(ctx context.Context, data []byte) ([]byte, error) {
	op, err := s.current("sign")
	if err != nil {
		return nil, err
	}
	if op.result != nil {
		return op.result, nil
	}
	sig, err := s.sign(ctx, op, data)
	if err != nil {
		s.End()
		return nil, err
	}
	op.result = sig
	return sig, nil
}

func (s *Session) sign(ctx context.Context, op *operation, data []byte) ([]byte, error) {
	if err := input(op.mech, data); err != nil {
		return nil, err
	}
	srv, err := s.Slot.server()
	if err != nil {
		return nil, err
	}
	m := signMechanisms[op.mech]
	der, err := srv.sign(ctx, op.key.Name, data, m.prehashed)
	if err != nil || m.der {
		return der, err
	}
	sig, err := sdf.SignatureFromDER(der)
	if err != nil {
		return nil, &Error{RV: FunctionFailed, Err: err}
	}
	return append(sig.R[:], sig.S[:]...), nil
}

// Verify checks sig over data and ends the operation.
func (s *Session) Verify(ctx context.Context, data, sig []byte) error {
	op, err := s.current("verify")
	if err != nil {
		return err
	}
	defer s.End()
	if err := input(op.mech, data); err != nil {
		return err
	}
	m := signMechanisms[op.mech]
	der := sig
	if !m.der {
		if len(sig) != 64 {
			return fail(SignatureLenRange, "an r || s signature is 64 bytes, not %d", len(sig))
		}
		var rs sdf.Signature
		copy(rs.R[:], sig[:32])
		copy(rs.S[:], sig[32:])
		der = rs.DER()
	} else if _, err := sdf.SignatureFromDER(sig); err != nil {
		return &Error{RV: SignatureInvalid, Err: err}
	}
	srv, err := s.Slot.server()
	if err != nil {
		return err
	}
	ok, err := srv.verify(ctx, op.key.Name, data, der, m.prehashed)
	if err != nil {
		return err
	}
	if !ok {
		return fail(SignatureInvalid, "the signature does not verify")
	}
	return nil
}

// DigestInit starts an SM3 digest (CKM_SM3_HASH); it needs no login.
func (s *Session) DigestInit(mech uint) error {
	if mech != MechSM3Hash {
		return fail(MechanismInvalid, "mechanism 0x%X does not digest (SM3: 0x%X)", mech, MechSM3Hash)
	}
	return s.start(&operation{kind: "digest", mech: mech, hash: sm3.New()})
}

// Digest is the SM3 digest of data; like Sign, the operation stays
// active until End.
func (s *Session) Digest(data []byte) ([]byte, error) {
	op, err := s.current("digest")
	if err != nil {
		return nil, err
	}
	if op.result == nil {
		op.hash.Write(data)
		op.result = op.hash.Sum(nil)
	}
	return op.result, nil
}

// Random fills b from the server's DRBG.
func (s *Session) Random(ctx context.Context, b []byte) error {
	srv, err := s.Slot.server()
	if err != nil {
		return err
	}
	return srv.random(ctx, b)
}

// GenerateKeyPair creates an sm2 key named by the CKA_LABEL of the
// private (or public) template and returns its public and private key
// objects.
func (s *Session) GenerateKeyPair(ctx context.Context, mech uint, public, private []Attribute) (uint, uint, error) {
	if mech != MechSM2KeyPairGen {
		return 0, 0, fail(MechanismInvalid, "mechanism 0x%X does not generate key pairs (SM2: 0x%X)", mech, MechSM2KeyPairGen)
	}
	if !s.RW {
		return 0, 0, fail(SessionReadOnly, "a read-only session creates no key")
	}
	srv, err := s.Slot.server()
	if err != nil {
		return 0, 0, err
	}
	name := label(private)
	if name == "" {
		name = label(public)
	}
	if name == "" {
		return 0, 0, fail(TemplateIncomplete, "CKA_LABEL names the mima key")
	}
	if err := srv.createKey(ctx, name, "sm2"); err != nil {
		return 0, 0, err
	}
	return s.Slot.object(name, ClassPublicKey, KeyTypeSM2), s.Slot.object(name, ClassPrivateKey, KeyTypeSM2), nil
}

// label is the CKA_LABEL of template, "" when it has none.
func label(template []Attribute) string {
	for _, a := range template {
		if a.Type == AttrLabel {
			return string(a.Value)
		}
	}
	return ""
}
