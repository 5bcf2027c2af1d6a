package p11

import (
	"context"
)

// cryptMechanisms are the encryption mechanisms: the key type they take
// and, for SM2, the ciphertext form mima's API names.
var cryptMechanisms = map[uint]struct {
	keyType uint
	form    string
}{
	MechMimaSM4:      {KeyTypeSM4, ""},
	MechSM2Raw:       {KeyTypeSM2, "c1c3c2"},
	MechSM2CipherDER: {KeyTypeSM2, "asn1"},
}

// EncryptInit starts encrypting with mech and the key object h: an sm4
// secret key (CKM_MIMA_SM4_ENVELOPE, param its AAD) or an SM2 public key.
func (s *Session) EncryptInit(mech, h uint, param []byte) error {
	return s.cryptInit("encrypt", mech, h, ClassPublicKey, param)
}

// DecryptInit starts decrypting with mech and the key object h: an sm4
// secret key or an SM2 private key.
func (s *Session) DecryptInit(mech, h uint, param []byte) error {
	return s.cryptInit("decrypt", mech, h, ClassPrivateKey, param)
}

// cryptInit starts an operation of kind; sm2Class is the class of the
// SM2 key object it takes.
func (s *Session) cryptInit(kind string, mech, h, sm2Class uint, param []byte) error {
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

// Encrypt encrypts data in one part (see finish for the length
// convention).
func (s *Session) Encrypt(ctx context.Context, data []byte) ([]byte, error) {
	return s.finish("encrypt", true, func(op *operation) ([]byte, error) { return s.encrypt(ctx, op, data) })
}

// EncryptUpdate adds a part to the plaintext, kept in the module: the
// server encrypts it all at EncryptFinal, so a part gives no output.
func (s *Session) EncryptUpdate(part []byte) error {
	return s.update("encrypt", part, func(op *operation) error { return op.keep(part) })
}

// EncryptFinal encrypts the parts.
func (s *Session) EncryptFinal(ctx context.Context) ([]byte, error) {
	return s.finish("encrypt", false, func(op *operation) ([]byte, error) { return s.encrypt(ctx, op, op.data) })
}

// Decrypt decrypts data in one part.
func (s *Session) Decrypt(ctx context.Context, data []byte) ([]byte, error) {
	return s.finish("decrypt", true, func(op *operation) ([]byte, error) { return s.decrypt(ctx, op, data) })
}

// DecryptUpdate adds a part to the ciphertext, kept in the module.
func (s *Session) DecryptUpdate(part []byte) error {
	return s.update("decrypt", part, func(op *operation) error { return op.keep(part) })
}

// DecryptFinal decrypts the parts.
func (s *Session) DecryptFinal(ctx context.Context) ([]byte, error) {
	return s.finish("decrypt", false, func(op *operation) ([]byte, error) { return s.decrypt(ctx, op, op.data) })
}

// encrypt encrypts pt on the server: the SM4 mechanism returns mima's
// ciphertext string, the SM2 ones the SM2 ciphertext in their form.
func (s *Session) encrypt(ctx context.Context, op *operation, pt []byte) ([]byte, error) {
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

// decrypt decrypts ct on the server.
func (s *Session) decrypt(ctx context.Context, op *operation, ct []byte) ([]byte, error) {
	srv, err := s.Slot.server()
	if err != nil {
		return nil, err
	}
	switch op.mech {
	case MechMimaSM4:
		return srv.decrypt(ctx, op.key.Name, string(ct), op.param)
	case MechSM2Raw:
		if len(ct) <= 97 || ct[0] != 4 {
			return nil, fail(EncryptedDataInvalid, "CKM_SM2_RAW decrypts 04 || x || y || C3 || C2")
		}
	default:
		if len(ct) == 0 || ct[0] != 0x30 {
			return nil, fail(EncryptedDataInvalid, "CKM_SM2_CIPHER_DER decrypts a DER SM2Cipher")
		}
	}
	return srv.decryptSM2(ctx, op.key.Name, ct)
}
