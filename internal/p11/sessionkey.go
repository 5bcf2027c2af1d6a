package p11

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"

	"github.com/emmansun/gmsm/sm2"
	"github.com/emmansun/gmsm/sm4"

	"github.com/mimacrypto/mima/internal/sdf"
)

// sessionKey is a session SM4 key: made by C_GenerateKey from the
// server's DRBG or by C_UnwrapKey, held in the module (as the SDF
// library's session keys) until C_DestroyObject, the close of the
// session that made it, or C_Finalize, which wipe it. It runs
// CKM_SM4_ECB, CKM_SM4_CBC and CKM_SM4_CBC_PAD locally with gmsm's SM4.
type sessionKey struct {
	key       *sdf.SM4Key
	owner     *Session
	label, id []byte
	local     bool          // generated in the module, not unwrapped
	flags     map[uint]bool // the CK_BBOOL attributes
}

// sessionKeyFlags are the boolean attributes of a session key and their
// defaults: sensitive and unextractable unless the template says
// otherwise. Only these may be set; CKA_TOKEN, CKA_SIGN, CKA_VERIFY,
// CKA_WRAP, CKA_UNWRAP and CKA_DERIVE may only be given as false.
var sessionKeyFlags = map[uint]bool{
	AttrPrivate: true, AttrSensitive: true, AttrExtractable: false,
	AttrEncrypt: true, AttrDecrypt: true,
}

// fixedFalse are the boolean attributes a session key has as false.
var fixedFalse = []uint{AttrToken, AttrSign, AttrVerify, AttrWrap, AttrUnwrap, AttrDerive, AttrModifiable}

// newSessionKey reads the template of C_GenerateKey or C_UnwrapKey.
func newSessionKey(template []Attribute, local bool) (*sessionKey, error) {
	k := &sessionKey{local: local, flags: map[uint]bool{}}
	for t, v := range sessionKeyFlags {
		k.flags[t] = v
	}
	for _, a := range template {
		switch a.Type {
		case AttrClass:
			if !bytes.Equal(a.Value, ulong(ClassSecretKey)) {
				return nil, fail(TemplateInconsistent, "a session key is a CKO_SECRET_KEY")
			}
		case AttrKeyType:
			if !bytes.Equal(a.Value, ulong(KeyTypeSM4)) {
				return nil, fail(TemplateInconsistent, "a session key is a CKK_SM4 key")
			}
		case AttrValueLen:
			if !bytes.Equal(a.Value, ulong(sm4.BlockSize)) {
				return nil, fail(AttributeValueInvalid, "an SM4 key is 16 bytes long")
			}
		case AttrLabel:
			k.label = a.Value
		case AttrID:
			k.id = a.Value
		default:
			v, err := flag(a)
			if err != nil {
				return nil, err
			}
			if _, ok := sessionKeyFlags[a.Type]; ok {
				k.flags[a.Type] = v
			} else if v {
				return nil, fail(TemplateInconsistent, "a session key of the module has attribute 0x%X false (CKA_TOKEN true: a token SM4 key is a mima sm4 key, made through mima's API)", a.Type)
			}
		}
	}
	return k, nil
}

// flag is the CK_BBOOL value of a, one of the boolean attributes of a
// session key.
func flag(a Attribute) (bool, error) {
	if _, ok := sessionKeyFlags[a.Type]; !ok && !slices.Contains(fixedFalse, a.Type) {
		return false, fail(AttributeTypeInvalid, "a session key has no attribute 0x%X to set", a.Type)
	}
	if len(a.Value) != 1 {
		return false, fail(AttributeValueInvalid, "attribute 0x%X is a CK_BBOOL", a.Type)
	}
	return a.Value[0] != 0, nil
}

// sessionAttr is the value of attribute t of a session key; a private
// object, it needs the login.
func (o *Object) sessionAttr(t uint) ([]byte, error) {
	if _, err := o.slot.server(); err != nil {
		return nil, err
	}
	k := o.secret
	switch t {
	case AttrClass:
		return ulong(ClassSecretKey), nil
	case AttrKeyType:
		return ulong(KeyTypeSM4), nil
	case AttrLabel:
		return k.label, nil
	case AttrID:
		return k.id, nil
	case AttrValueLen:
		return ulong(sm4.BlockSize), nil
	case AttrLocal:
		return boolean(k.local), nil
	case AttrAlwaysSensitive:
		return boolean(k.local && k.flags[AttrSensitive]), nil
	case AttrNeverExtractable:
		return boolean(k.local && !k.flags[AttrExtractable]), nil
	case AttrValue:
		if k.flags[AttrSensitive] || !k.flags[AttrExtractable] {
			return nil, fail(AttributeSensitive, "the session key is sensitive or unextractable")
		}
		return k.key.Value(), nil
	}
	if v, ok := k.flags[t]; ok {
		return boolean(v), nil
	}
	if slices.Contains(fixedFalse, t) {
		return boolean(false), nil
	}
	return nil, fail(AttributeTypeInvalid, "a session key has no attribute 0x%X", t)
}

// addSessionKey makes raw, which it clears, the key of k, a session
// object of s, and returns its handle.
func (s *Session) addSessionKey(k *sessionKey, raw []byte) (uint, error) {
	key, err := sdf.NewSM4Key(raw)
	if err != nil {
		return 0, &Error{RV: FunctionFailed, Err: err}
	}
	k.key, k.owner = key, s
	sl := s.Slot
	sl.mu.Lock()
	defer sl.mu.Unlock()
	h := nextHandle()
	sl.objects[h] = &Object{Class: ClassSecretKey, KeyType: KeyTypeSM4, slot: sl, secret: k}
	return h, nil
}

// sessionKeys are the handles of the slot's session keys.
func (sl *Slot) sessionKeys() []uint {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	var hs []uint
	for h, o := range sl.objects {
		if o.secret != nil {
			hs = append(hs, h)
		}
	}
	return hs
}

// destroySessionKeys wipes and forgets the session keys of owner (nil:
// every session key of the slot).
func (sl *Slot) destroySessionKeys(owner *Session) {
	sl.mu.Lock()
	defer sl.mu.Unlock()
	for h, o := range sl.objects {
		if o.secret != nil && (owner == nil || o.secret.owner == owner) {
			o.secret.key.Wipe()
			delete(sl.objects, h)
		}
	}
}

// DestroyObject wipes and forgets the session key h; mima's keys and
// certificates are destroyed through mima's API, not here.
func (s *Session) DestroyObject(h uint) error {
	sl := s.Slot
	sl.mu.Lock()
	defer sl.mu.Unlock()
	o, ok := sl.objects[h]
	if !ok {
		return fail(ObjectHandleInvalid, "no object %d in slot %d", h, sl.ID)
	}
	if o.secret == nil {
		return fail(ActionProhibited, "object %d is mima's: destroy mima keys through mima's API", h)
	}
	o.secret.key.Wipe()
	delete(sl.objects, h)
	return nil
}

// GenerateKey makes a session SM4 key (CKM_SM4_KEY_GEN) of 16 bytes of
// the server's DRBG, as SDF_GenerateKeyWithEPK_ECC does.
func (s *Session) GenerateKey(ctx context.Context, mech uint, param []byte, template []Attribute) (uint, error) {
	if mech != MechSM4KeyGen {
		return 0, fail(MechanismInvalid, "mechanism 0x%X does not generate keys (SM4: 0x%X)", mech, MechSM4KeyGen)
	}
	if len(param) > 0 {
		return 0, fail(MechanismParamInvalid, "CKM_SM4_KEY_GEN takes no parameter")
	}
	srv, err := s.Slot.server()
	if err != nil {
		return 0, err
	}
	k, err := newSessionKey(template, true)
	if err != nil {
		return 0, err
	}
	raw := make([]byte, sm4.BlockSize)
	if err := srv.random(ctx, raw); err != nil {
		return 0, err
	}
	return s.addSessionKey(k, raw)
}

// maxWrapped bounds the SM2 encryption of a 16-byte key: 97 + 16 bytes
// C1 || C3 || C2, at most 124 in DER (x and y of 33 bytes with a sign
// byte), what a C_WrapKey that asks for the length gets.
var maxWrapped = map[uint]int{MechSM2Raw: 113, MechSM2CipherDER: 124}

// WrapKey encrypts the session key h with the SM2 public key object
// wrapping (CKM_SM2_RAW or CKM_SM2_CIPHER_DER), in the module with the
// public key mima's API gives, as SDF_GenerateKeyWithEPK_ECC; it returns
// the wrapped key and the most bytes it may take.
func (s *Session) WrapKey(ctx context.Context, mech uint, param []byte, wrapping, h uint) ([]byte, int, error) {
	if _, ok := maxWrapped[mech]; !ok {
		return nil, 0, fail(MechanismInvalid, "mechanism 0x%X does not wrap keys (CKM_SM2_RAW, CKM_SM2_CIPHER_DER do)", mech)
	}
	if len(param) > 0 {
		return nil, 0, fail(MechanismParamInvalid, "mechanism 0x%X takes no parameter", mech)
	}
	srv, err := s.Slot.server()
	if err != nil {
		return nil, 0, err
	}
	w, err := s.Slot.Object(wrapping)
	if err != nil {
		return nil, 0, &Error{RV: WrappingKeyHandleInvalid, Err: err}
	}
	if w.Class != ClassPublicKey || w.KeyType != KeyTypeSM2 {
		return nil, 0, fail(WrappingKeyTypeInconsistent, "object %d is no SM2 public key", wrapping)
	}
	o, err := s.Slot.Object(h)
	if err != nil {
		return nil, 0, &Error{RV: KeyHandleInvalid, Err: err}
	}
	if o.secret == nil || !o.secret.flags[AttrExtractable] {
		return nil, 0, fail(KeyUnextractable, "object %d is not an extractable session key", h)
	}
	pub, err := srv.publicKey(ctx, w.Name)
	if err != nil {
		return nil, 0, err
	}
	value := o.secret.key.Value()
	defer clear(value)
	var out []byte
	if mech == MechSM2CipherDER {
		out, err = sm2.EncryptASN1(rand.Reader, pub, value)
	} else {
		out, err = sm2.Encrypt(rand.Reader, pub, value, sm2.NewPlainEncrypterOpts(sm2.MarshalUncompressed, sm2.C1C3C2))
	}
	if err != nil {
		return nil, 0, &Error{RV: FunctionFailed, Err: err}
	}
	return out, maxWrapped[mech], nil
}

// UnwrapKey decrypts wrapped (CKM_SM2_RAW or CKM_SM2_CIPHER_DER) with the
// SM2 private key object unwrapping through mima's API, as
// SDF_ImportKeyWithISK_ECC, and makes the 16 bytes a session key of
// template.
func (s *Session) UnwrapKey(ctx context.Context, mech uint, param []byte, unwrapping uint, wrapped []byte, template []Attribute) (uint, error) {
	if _, ok := maxWrapped[mech]; !ok {
		return 0, fail(MechanismInvalid, "mechanism 0x%X does not unwrap keys (CKM_SM2_RAW, CKM_SM2_CIPHER_DER do)", mech)
	}
	if len(param) > 0 {
		return 0, fail(MechanismParamInvalid, "mechanism 0x%X takes no parameter", mech)
	}
	srv, err := s.Slot.server()
	if err != nil {
		return 0, err
	}
	u, err := s.Slot.Object(unwrapping)
	if err != nil {
		return 0, &Error{RV: UnwrappingKeyHandleInvalid, Err: err}
	}
	if u.Class != ClassPrivateKey || u.KeyType != KeyTypeSM2 {
		return 0, fail(UnwrappingKeyTypeInconsistent, "object %d is no SM2 private key", unwrapping)
	}
	k, err := newSessionKey(template, false)
	if err != nil {
		return 0, err
	}
	if err := checkSM2Form(mech, wrapped); err != nil {
		return 0, &Error{RV: WrappedKeyInvalid, Err: err}
	}
	raw, err := srv.decryptSM2(ctx, u.Name, wrapped)
	if RVOf(err) == EncryptedDataInvalid {
		return 0, &Error{RV: WrappedKeyInvalid, Err: err}
	}
	if err != nil {
		return 0, err
	}
	if len(raw) != sm4.BlockSize {
		clear(raw)
		return 0, fail(WrappedKeyInvalid, "the wrapped key is %d bytes, not an SM4 key's 16", len(raw))
	}
	return s.addSessionKey(k, raw)
}
