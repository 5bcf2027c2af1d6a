package p11

import (
	"bytes"
	"context"
	"hash"
	"sync"

	"github.com/emmansun/gmsm/sm2"
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

// operation is a sign, verify, digest, encrypt or decrypt between its
// Init and its end.
type operation struct {
	kind  string // "sign", "verify", "digest", "encrypt", "decrypt"
	mech  uint
	key   *Object
	param []byte // the mechanism's parameter: the AAD of CKM_MIMA_SM4_ENVELOPE
	// stream is the SM4 of a session key (CKM_SM4_*), which runs in the
	// module; nil for the other mechanisms.
	stream *sm4Stream
	// hash is the digest's SM3, or SM3(Z || M) of a multi-part sign or
	// verify of a message, Z of the key's version.
	hash    hash.Hash
	version int
	data    []byte // multi-part input kept in the module
	multi   bool   // an Update was made: the single-part call is refused
	done    bool   // result was made by a call whose buffer was too small or absent
	result  []byte
}

// FindInit starts a search for the objects that have every attribute of
// template; it needs a login (every object is a key of the tenant or the
// certificate of one).
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
	add := func(h uint) {
		if o, err := s.Slot.Object(h); err == nil && o.matches(ctx, template) {
			found = append(found, h)
		}
	}
	for _, k := range keys {
		switch k.Type {
		case "sm2":
			add(s.Slot.object(k.Name, ClassPrivateKey, KeyTypeSM2))
			add(s.Slot.object(k.Name, ClassPublicKey, KeyTypeSM2))
		case "sm4":
			add(s.Slot.object(k.Name, ClassSecretKey, KeyTypeSM4))
		}
	}
	for _, h := range s.Slot.sessionKeys() {
		add(h)
	}
	for _, k := range keys {
		if k.Type != "sm2" || !mayBeCertificate(k.Name, template) {
			continue
		}
		der, err := srv.certificate(ctx, k.Name)
		if err != nil {
			return err
		}
		if der == nil {
			continue
		}
		c, err := parseCertificate(der)
		if err != nil {
			return err
		}
		add(s.Slot.certificate(k.Name, c))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.finding, s.found = true, found
	return nil
}

// mayBeCertificate reports whether the certificate object of key name
// could match template, before asking the server for the certificate.
func mayBeCertificate(name string, template []Attribute) bool {
	for _, a := range template {
		switch a.Type {
		case AttrClass:
			if !bytes.Equal(a.Value, ulong(ClassCertificate)) {
				return false
			}
		case AttrLabel, AttrID:
			if string(a.Value) != name {
				return false
			}
		}
	}
	return true
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

// End ends the active operation and wipes what it kept.
func (s *Session) End() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.op != nil {
		clear(s.op.data)
		clear(s.op.result)
		if s.op.stream != nil {
			clear(s.op.stream.pending)
		}
	}
	s.op = nil
}

// maxData bounds what a multi-part operation keeps in the module; the
// server's request limit (4 MiB by default) is lower.
const maxData = 64 << 20

// update adds data to the operation of kind with add; a failure ends
// it, as PKCS#11 says.
func (s *Session) update(kind string, data []byte, add func(op *operation) error) error {
	op, err := s.current(kind)
	if err != nil {
		return err
	}
	if op.done {
		return fail(OperationActive, "the single-part %s is active: repeat that call", kind)
	}
	op.multi = true
	if err := add(op); err != nil {
		s.End()
		return err
	}
	return nil
}

// keep appends data to op.data, within maxData.
func (op *operation) keep(data []byte) error {
	if len(op.data)+len(data) > maxData {
		return fail(DataLenRange, "a multi-part %s keeps at most %d bytes", op.kind, maxData)
	}
	op.data = append(op.data, data...)
	return nil
}

// finish makes the result of the operation of kind with compute, one-part
// (onePart) or the Final of a multi-part one. The operation stays active
// (the caller asked for the length or gave too small a buffer) until End;
// its result is kept so that the next call returns the same. A failure
// ends it.
func (s *Session) finish(kind string, onePart bool, compute func(op *operation) ([]byte, error)) ([]byte, error) {
	op, err := s.current(kind)
	if err != nil {
		return nil, err
	}
	if onePart && op.multi {
		return nil, fail(OperationActive, "a multi-part %s is active: end it with its Final", kind)
	}
	if !op.done {
		out, err := compute(op)
		if err != nil {
			s.End()
			return nil, err
		}
		op.result, op.done = out, true
	}
	return op.result, nil
}

// signMechanisms tells, for each signing mechanism, whether its input is
// a 32-byte digest and whether its signature is DER (else r || s).
var signMechanisms = map[uint]struct{ prehashed, der bool }{
	MechSM3SM2:       {false, false},
	MechSM3SM2DER:    {false, true},
	MechSM2Sign:      {true, true},
	MechSM2SignNoDER: {true, false},
}

// keyInit starts op with the key object h, which must be of class and
// keyType; known tells whether op.mech is one of op.kind's mechanisms.
func (s *Session) keyInit(op *operation, known bool, h, class, keyType uint) error {
	if _, err := s.Slot.server(); err != nil {
		return err
	}
	if !known {
		return fail(MechanismInvalid, "mechanism 0x%X does not %s (docs/sdf.md lists the mechanisms)", op.mech, op.kind)
	}
	o, err := s.Slot.Object(h)
	if err != nil {
		return &Error{RV: KeyHandleInvalid, Err: err}
	}
	if o.Class != class || o.KeyType != keyType {
		return fail(KeyTypeInconsistent, "object %d cannot %s with mechanism 0x%X", h, op.kind, op.mech)
	}
	if err := op.bind(o); err != nil {
		return err
	}
	return s.start(op)
}

// SignInit starts signing with the private key object h.
func (s *Session) SignInit(mech, h uint) error {
	_, ok := signMechanisms[mech]
	return s.keyInit(&operation{kind: "sign", mech: mech}, ok, h, ClassPrivateKey, KeyTypeSM2)
}

// VerifyInit starts verifying with the public key object h.
func (s *Session) VerifyInit(mech, h uint) error {
	_, ok := signMechanisms[mech]
	return s.keyInit(&operation{kind: "verify", mech: mech}, ok, h, ClassPublicKey, KeyTypeSM2)
}

// signInput is what the server signs or verifies: the message, or a
// 32-byte e of a key version (0: the latest).
type signInput struct {
	data      []byte
	prehashed bool
	version   int
}

// single is the input of a single-part call: data, a 32-byte digest
// for the prehashed mechanisms.
func single(op *operation, data []byte) (signInput, error) {
	m := signMechanisms[op.mech]
	if m.prehashed && len(data) != 32 {
		return signInput{}, fail(DataLenRange, "mechanism 0x%X signs a 32-byte digest, not %d bytes", op.mech, len(data))
	}
	return signInput{data: data, prehashed: m.prehashed}, nil
}

// addPart adds a part of a multi-part sign or verify: the digest's bytes
// are kept, a message is hashed into SM3(Z || M).
func (s *Session) addPart(ctx context.Context, op *operation, part []byte) error {
	if signMechanisms[op.mech].prehashed {
		if len(op.data)+len(part) > 32 {
			return fail(DataLenRange, "mechanism 0x%X signs a 32-byte digest", op.mech)
		}
		return op.keep(part)
	}
	if op.hash == nil {
		srv, err := s.Slot.server()
		if err != nil {
			return err
		}
		v, pub, err := srv.signingKey(ctx, op.key.Name)
		if err != nil {
			return err
		}
		z, err := sm2.CalculateZA(pub, defaultUID)
		if err != nil {
			return &Error{RV: FunctionFailed, Err: err}
		}
		op.hash, op.version = sm3.New(), v
		op.hash.Write(z)
	}
	op.hash.Write(part)
	return nil
}

// defaultUID is the signer's ID of the CKM_SM3_SM2 mechanisms, GM/T 0009's
// default.
var defaultUID = []byte("1234567812345678")

// multi is the input of a Final: the kept digest or e = SM3(Z || M).
func (s *Session) multi(ctx context.Context, op *operation) (signInput, error) {
	if signMechanisms[op.mech].prehashed {
		return single(op, op.data)
	}
	if err := s.addPart(ctx, op, nil); err != nil {
		return signInput{}, err
	}
	return signInput{data: op.hash.Sum(nil), prehashed: true, version: op.version}, nil
}

// Sign signs data in one part; like every finishing call, it keeps the
// operation until End (see finish).
func (s *Session) Sign(ctx context.Context, data []byte) ([]byte, error) {
	return s.finish("sign", true, func(op *operation) ([]byte, error) {
		in, err := single(op, data)
		if err != nil {
			return nil, err
		}
		return s.sign(ctx, op, in)
	})
}

// SignUpdate adds a part to the signed data.
func (s *Session) SignUpdate(ctx context.Context, part []byte) error {
	return s.update("sign", part, func(op *operation) error { return s.addPart(ctx, op, part) })
}

// SignFinal signs the parts.
func (s *Session) SignFinal(ctx context.Context) ([]byte, error) {
	return s.finish("sign", false, func(op *operation) ([]byte, error) {
		in, err := s.multi(ctx, op)
		if err != nil {
			return nil, err
		}
		return s.sign(ctx, op, in)
	})
}

func (s *Session) sign(ctx context.Context, op *operation, in signInput) ([]byte, error) {
	srv, err := s.Slot.server()
	if err != nil {
		return nil, err
	}
	der, err := srv.sign(ctx, op.key.Name, in.data, in.prehashed, in.version)
	if err != nil || signMechanisms[op.mech].der {
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
	if op.multi {
		return fail(OperationActive, "a multi-part verify is active: end it with C_VerifyFinal")
	}
	defer s.End()
	in, err := single(op, data)
	if err != nil {
		return err
	}
	return s.verify(ctx, op, in, sig)
}

// VerifyUpdate adds a part to the verified data.
func (s *Session) VerifyUpdate(ctx context.Context, part []byte) error {
	return s.update("verify", part, func(op *operation) error { return s.addPart(ctx, op, part) })
}

// VerifyFinal checks sig over the parts and ends the operation.
func (s *Session) VerifyFinal(ctx context.Context, sig []byte) error {
	op, err := s.current("verify")
	if err != nil {
		return err
	}
	defer s.End()
	in, err := s.multi(ctx, op)
	if err != nil {
		return err
	}
	return s.verify(ctx, op, in, sig)
}

func (s *Session) verify(ctx context.Context, op *operation, in signInput, sig []byte) error {
	der := sig
	if !signMechanisms[op.mech].der {
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
	ok, err := srv.verify(ctx, op.key.Name, in.data, der, in.prehashed, in.version)
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

// Digest is the SM3 digest of data.
func (s *Session) Digest(data []byte) ([]byte, error) {
	return s.finish("digest", true, func(op *operation) ([]byte, error) {
		op.hash.Write(data)
		return op.hash.Sum(nil), nil
	})
}

// DigestUpdate adds a part to the digest.
func (s *Session) DigestUpdate(part []byte) error {
	return s.update("digest", part, func(op *operation) error {
		op.hash.Write(part)
		return nil
	})
}

// DigestFinal is the SM3 digest of the parts.
func (s *Session) DigestFinal() ([]byte, error) {
	return s.finish("digest", false, func(op *operation) ([]byte, error) { return op.hash.Sum(nil), nil })
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
