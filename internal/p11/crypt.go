package p11

import (
	"context"
	"crypto/cipher"

	"github.com/emmansun/gmsm/sm4"
)

// cryptMechanisms are the encryption mechanisms that run on the server:
// the key type they take and, for SM2, the ciphertext form mima's API
// names.
var cryptMechanisms = map[uint]struct {
	keyType uint
	form    string
}{
	MechMimaSM4:      {KeyTypeSM4, ""},
	MechSM2Raw:       {KeyTypeSM2, "c1c3c2"},
	MechSM2CipherDER: {KeyTypeSM2, "asn1"},
}

// sm4Modes are the SM4 mechanisms that run in the module on session
// keys: whether they chain from an IV (CBC) and pad (PKCS#7).
var sm4Modes = map[uint]struct{ cbc, pad bool }{
	MechSM4ECB:    {false, false},
	MechSM4CBC:    {true, false},
	MechSM4CBCPad: {true, true},
}

// EncryptInit starts encrypting with mech and the key object h: an sm4
// secret key (CKM_MIMA_SM4_ENVELOPE, param its AAD), a session SM4 key
// (CKM_SM4_*, param the IV of CBC) or an SM2 public key.
func (s *Session) EncryptInit(mech, h uint, param []byte) error {
	return s.cryptInit("encrypt", mech, h, ClassPublicKey, param)
}

// DecryptInit starts decrypting with mech and the key object h: an sm4
// secret key, a session SM4 key or an SM2 private key.
func (s *Session) DecryptInit(mech, h uint, param []byte) error {
	return s.cryptInit("decrypt", mech, h, ClassPrivateKey, param)
}

// cryptInit starts an operation of kind; sm2Class is the class of the
// SM2 key object it takes.
func (s *Session) cryptInit(kind string, mech, h, sm2Class uint, param []byte) error {
	if mode, ok := sm4Modes[mech]; ok {
		st := &sm4Stream{pad: mode.pad, encrypt: kind == "encrypt"}
		switch {
		case mode.cbc && len(param) != sm4.BlockSize:
			return fail(MechanismParamInvalid, "mechanism 0x%X takes a 16-byte IV, not %d bytes", mech, len(param))
		case mode.cbc:
			st.iv = append([]byte(nil), param...)
		case len(param) > 0:
			return fail(MechanismParamInvalid, "CKM_SM4_ECB takes no parameter")
		}
		return s.keyInit(&operation{kind: kind, mech: mech, stream: st}, true, h, ClassSecretKey, KeyTypeSM4)
	}
	m, known := cryptMechanisms[mech]
	class := ClassSecretKey
	if m.keyType == KeyTypeSM2 {
		class = sm2Class
		if len(param) > 0 {
			return fail(MechanismParamInvalid, "mechanism 0x%X takes no parameter", mech)
		}
	}
	op := &operation{kind: kind, mech: mech, param: append([]byte(nil), param...)}
	return s.keyInit(op, known, h, class, m.keyType)
}

// bind makes o the key of op: a session key runs the module's SM4
// mechanisms (if its CKA_ENCRYPT or CKA_DECRYPT allows), a mima key the
// server's.
func (op *operation) bind(o *Object) error {
	local, usage := op.stream != nil, AttrEncrypt
	if op.kind == "decrypt" {
		usage = AttrDecrypt
	}
	switch {
	case local && o.secret == nil:
		return fail(KeyFunctionNotPermitted, "mechanism 0x%X runs in the module on session keys: the server has no raw SM4 mode for key %s", op.mech, o.Name)
	case !local && o.secret != nil:
		return fail(KeyFunctionNotPermitted, "a session key runs CKM_SM4_ECB, CKM_SM4_CBC and CKM_SM4_CBC_PAD, not mechanism 0x%X", op.mech)
	case local && !o.secret.flags[usage]:
		return fail(KeyFunctionNotPermitted, "the session key may not %s", op.kind)
	case local:
		op.stream.mode = o.secret.key.Mode(op.stream.iv, op.stream.encrypt)
	}
	op.key = o
	return nil
}

// Encrypt encrypts data in one part (see finish for the length
// convention).
func (s *Session) Encrypt(ctx context.Context, data []byte) ([]byte, error) {
	return s.finish("encrypt", true, func(op *operation) ([]byte, error) { return s.encrypt(ctx, op, data) })
}

// EncryptUpdate adds a part to the plaintext; room is what the caller's
// buffer takes, -1 when it asks for the length. It returns the length of
// the output and the output: the whole blocks of a session key's SM4,
// nothing for the server's mechanisms, whose plaintext the module keeps
// until EncryptFinal. A length query and a too small room (then
// CKR_BUFFER_TOO_SMALL) leave the operation as it was.
func (s *Session) EncryptUpdate(part []byte, room int) (int, []byte, error) {
	return s.cryptUpdate("encrypt", part, room)
}

// EncryptFinal encrypts the parts: the server's mechanisms all of them,
// CKM_SM4_CBC_PAD its last padded block.
func (s *Session) EncryptFinal(ctx context.Context) ([]byte, error) {
	return s.finish("encrypt", false, func(op *operation) ([]byte, error) { return s.encrypt(ctx, op, op.data) })
}

// Decrypt decrypts data in one part.
func (s *Session) Decrypt(ctx context.Context, data []byte) ([]byte, error) {
	return s.finish("decrypt", true, func(op *operation) ([]byte, error) { return s.decrypt(ctx, op, data) })
}

// DecryptUpdate adds a part to the ciphertext, as EncryptUpdate.
func (s *Session) DecryptUpdate(part []byte, room int) (int, []byte, error) {
	return s.cryptUpdate("decrypt", part, room)
}

// DecryptFinal decrypts the parts.
func (s *Session) DecryptFinal(ctx context.Context) ([]byte, error) {
	return s.finish("decrypt", false, func(op *operation) ([]byte, error) { return s.decrypt(ctx, op, op.data) })
}

// cryptUpdate is EncryptUpdate or DecryptUpdate, of kind; a failure
// other than CKR_BUFFER_TOO_SMALL ends the operation.
func (s *Session) cryptUpdate(kind string, part []byte, room int) (int, []byte, error) {
	op, err := s.current(kind)
	if err != nil {
		return 0, nil, err
	}
	if op.done {
		return 0, nil, fail(OperationActive, "the single-part %s is active: repeat that call", kind)
	}
	op.multi = true
	need := 0
	if op.stream != nil {
		need = op.stream.outLen(len(part))
	}
	switch {
	case room < 0 && need == 0:
		return 0, nil, nil
	case room < need:
		if room < 0 {
			return need, nil, nil
		}
		return need, nil, fail(BufferTooSmall, "the part gives %d bytes", need)
	case op.stream != nil:
		return need, op.stream.update(part), nil
	}
	if err := op.keep(part); err != nil {
		s.End()
		return 0, nil, err
	}
	return 0, nil, nil
}

// encrypt encrypts pt: a session key's SM4 in the module, the rest on
// the server, where the SM4 envelope returns mima's ciphertext string,
// the SM2 mechanisms the SM2 ciphertext in their form.
func (s *Session) encrypt(ctx context.Context, op *operation, pt []byte) ([]byte, error) {
	if op.stream != nil {
		return op.stream.all(pt)
	}
	srv, err := s.Slot.server()
	if err != nil {
		return nil, err
	}
	m := cryptMechanisms[op.mech]
	if m.keyType == KeyTypeSM2 && len(pt) == 0 {
		return nil, fail(DataLenRange, "SM2 encrypts at least one byte")
	}
	ct, err := srv.encrypt(ctx, op.key.Name, pt, op.param, m.form)
	if err != nil || m.keyType == KeyTypeSM4 {
		return []byte(ct), err
	}
	return payload(ct)
}

// decrypt decrypts ct, in the module or on the server.
func (s *Session) decrypt(ctx context.Context, op *operation, ct []byte) ([]byte, error) {
	if op.stream != nil {
		return op.stream.all(ct)
	}
	srv, err := s.Slot.server()
	if err != nil {
		return nil, err
	}
	if op.mech == MechMimaSM4 {
		return srv.decrypt(ctx, op.key.Name, string(ct), op.param)
	}
	if err := checkSM2Form(op.mech, ct); err != nil {
		return nil, err
	}
	return srv.decryptSM2(ctx, op.key.Name, ct)
}

// checkSM2Form refuses an SM2 ciphertext not of mech's form.
func checkSM2Form(mech uint, ct []byte) error {
	switch {
	case mech == MechSM2Raw && (len(ct) <= 97 || ct[0] != 4):
		return fail(EncryptedDataInvalid, "CKM_SM2_RAW decrypts 04 || x || y || C3 || C2")
	case mech == MechSM2CipherDER && (len(ct) == 0 || ct[0] != 0x30):
		return fail(EncryptedDataInvalid, "CKM_SM2_CIPHER_DER decrypts a DER SM2Cipher")
	}
	return nil
}

// sm4Stream is an SM4 encryption or decryption with a session key in the
// module, in parts: whole blocks go through as they come; pending is the
// input of a block not yet whole or, decrypting with padding, the last
// block, which Final unpads.
type sm4Stream struct {
	iv           []byte // CBC; nil: ECB
	mode         cipher.BlockMode
	pad, encrypt bool
	pending      []byte
}

// outLen is the length of the output of an Update of n more bytes.
func (st *sm4Stream) outLen(n int) int {
	n += len(st.pending)
	k := n - n%sm4.BlockSize
	if st.pad && !st.encrypt && k == n && k > 0 {
		k -= sm4.BlockSize
	}
	return k
}

// update runs the whole blocks of pending and part and keeps the rest.
func (st *sm4Stream) update(part []byte) []byte {
	n := st.outLen(len(part))
	in := append(append(make([]byte, 0, len(st.pending)+len(part)), st.pending...), part...)
	clear(st.pending)
	out := make([]byte, n)
	st.mode.CryptBlocks(out, in[:n])
	st.pending = append([]byte(nil), in[n:]...)
	clear(in)
	return out
}

// final ends the stream: pads and encrypts the last block
// (CKM_SM4_CBC_PAD), decrypts and unpads it, or checks that no partial
// block is left.
func (st *sm4Stream) final() ([]byte, error) {
	rest := st.pending
	defer clear(rest)
	st.pending = nil
	switch {
	case st.encrypt && st.pad:
		p := sm4.BlockSize - len(rest)
		in := append(append([]byte(nil), rest...), make([]byte, p)...)
		for i := len(rest); i < len(in); i++ {
			in[i] = byte(p)
		}
		out := make([]byte, sm4.BlockSize)
		st.mode.CryptBlocks(out, in)
		clear(in)
		return out, nil
	case len(rest) == 0 && !st.pad:
		return nil, nil
	case st.encrypt:
		return nil, fail(DataLenRange, "CKM_SM4_ECB and CKM_SM4_CBC encrypt whole 16-byte blocks: %d bytes are left over", len(rest))
	case !st.pad:
		return nil, fail(EncryptedDataLenRange, "CKM_SM4_ECB and CKM_SM4_CBC decrypt whole 16-byte blocks: %d bytes are left over", len(rest))
	case len(rest) != sm4.BlockSize:
		return nil, fail(EncryptedDataLenRange, "CKM_SM4_CBC_PAD decrypts whole 16-byte blocks, at least one")
	}
	out := make([]byte, sm4.BlockSize)
	st.mode.CryptBlocks(out, rest)
	p := int(out[sm4.BlockSize-1])
	valid := p >= 1 && p <= sm4.BlockSize
	for i := sm4.BlockSize - p; valid && i < sm4.BlockSize; i++ {
		valid = out[i] == byte(p)
	}
	if !valid {
		clear(out)
		return nil, fail(EncryptedDataInvalid, "the padding is not PKCS#7")
	}
	return out[:sm4.BlockSize-p], nil
}

// all runs data and ends the stream: a single-part call, or a Final with
// no data.
func (st *sm4Stream) all(data []byte) ([]byte, error) {
	out := st.update(data)
	last, err := st.final()
	if err != nil {
		clear(out)
		return nil, err
	}
	return append(out, last...), nil
}
