package p11

import (
	"context"
	"os"
	"sync"
	"sync/atomic"

	"github.com/mimacrypto/mima/internal/sdf"
)

// Vendor values (Sansec's swpkcs11.h; Koal's module uses the same SM2
// ones); cmd/libmimapkcs11/platform.h defines them for C.
const (
	KeyTypeSM2        uint = 0x80000004 // CKK_SM2
	KeyTypeSM4        uint = 0x80000106 // CKK_SM4
	MechSM2KeyPairGen uint = 0x80008001 // CKM_SM2_KEY_PAIR_GEN
	MechSM3SM2        uint = 0x80008100 // CKM_SM3_SM2: message, Z with the default ID, r || s
	MechSM3SM2DER     uint = 0x80008101 // CKM_SM3_SM2_DER: message, DER signature
	MechSM2Sign       uint = 0x80008104 // CKM_SM2_SIGN: 32-byte e, DER signature
	MechSM2SignNoDER  uint = 0x80008105 // CKM_SM2_SIGN_NO_DER: 32-byte e, r || s
	MechSM2Raw        uint = 0x80008200 // CKM_SM2_RAW: SM2 encryption, C1 || C3 || C2
	MechSM2CipherDER  uint = 0x80008201 // CKM_SM2_CIPHER_DER: SM2 encryption, GM/T 0009 SM2Cipher
	MechSM3Hash       uint = 0x80009001 // CKM_SM3_HASH
	MechSM4KeyGen     uint = 0x80000107 // CKM_SM4_KEY_GEN: a session SM4 key
	MechSM4ECB        uint = 0x80000108 // CKM_SM4_ECB: on a session key, in the module
	MechSM4CBC        uint = 0x80000109 // CKM_SM4_CBC: the parameter is the 16-byte IV
	MechSM4CBCPad     uint = 0x8000A201 // CKM_SM4_CBC_PAD: CBC with PKCS#7 padding
)

// MechMimaSM4 (CKM_MIMA_SM4_ENVELOPE) is mima's own value, no vendor's:
// SM4-GCM on the server with an sm4 key, the ciphertext mima's string
// "mima:v<N>:<base64>". The server has no raw SM4 mode for its keys, so
// the vendors' CKM_SM4_ECB, CKM_SM4_CBC and CKM_SM4_CBC_PAD run in the
// module on session keys only (sessionkey.go).
const MechMimaSM4 uint = 0xCD490001

// Object classes and user types of pkcs11t.h.
const (
	ClassCertificate uint = 1
	ClassPublicKey   uint = 2
	ClassPrivateKey  uint = 3
	ClassSecretKey   uint = 4
	userSO           uint = 0
	userNormal       uint = 1
)

// Mechanism describes a mechanism the module supports: its CKF_ flags
// and its key size in bits.
type Mechanism struct {
	Type, Flags, Bits uint
}

// CKF_ flags of CK_MECHANISM_INFO.
const (
	flagEncrypt  = 0x100
	flagDecrypt  = 0x200
	flagDigest   = 0x400
	flagSign     = 0x800
	flagVerify   = 0x2000
	flagGenerate = 0x8000
	flagKeyPair  = 0x10000
	flagWrap     = 0x20000
	flagUnwrap   = 0x40000
)

// Mechanisms are the module's mechanisms.
var Mechanisms = []Mechanism{
	{MechSM2KeyPairGen, flagKeyPair, 256},
	{MechSM3SM2, flagSign | flagVerify, 256}, {MechSM3SM2DER, flagSign | flagVerify, 256},
	{MechSM2Sign, flagSign | flagVerify, 256}, {MechSM2SignNoDER, flagSign | flagVerify, 256},
	{MechSM2Raw, flagEncrypt | flagDecrypt | flagWrap | flagUnwrap, 256},
	{MechSM2CipherDER, flagEncrypt | flagDecrypt | flagWrap | flagUnwrap, 256},
	{MechMimaSM4, flagEncrypt | flagDecrypt, 128},
	{MechSM4KeyGen, flagGenerate, 128},
	{MechSM4ECB, flagEncrypt | flagDecrypt, 128}, {MechSM4CBC, flagEncrypt | flagDecrypt, 128},
	{MechSM4CBCPad, flagEncrypt | flagDecrypt, 128},
	{MechSM3Hash, flagDigest, 0},
}

// Module is the state between C_Initialize and C_Finalize.
type Module struct {
	cfg   sdf.Config
	slots []*Slot

	mu       sync.Mutex
	sessions map[uint]*Session
}

var (
	current    atomic.Pointer[Module]
	lastHandle atomic.Uint64 // sessions and objects
)

func nextHandle() uint { return uint(lastHandle.Add(1)) }

// Initialize reads the configuration (sdf.LoadConfig) and makes a slot a
// tenant.
func Initialize() error {
	cfg, err := sdf.LoadConfig(os.Getenv)
	if err != nil {
		return &Error{RV: GeneralError, Err: err}
	}
	tenants := cfg.Tenants
	if len(tenants) == 0 {
		tenants = []string{"default"}
	}
	m := &Module{cfg: cfg, sessions: map[uint]*Session{}}
	for i, t := range tenants {
		m.slots = append(m.slots, &Slot{ID: uint(i), Tenant: t, objects: map[uint]*Object{}, byKey: map[objectKey]uint{}})
	}
	if !current.CompareAndSwap(nil, m) {
		return fail(CryptokiAlreadyInitiated, "already initialized")
	}
	return nil
}

// Finalize forgets every slot, login and session and wipes the session
// keys.
func Finalize() error {
	m := current.Swap(nil)
	if m == nil {
		return fail(CryptokiNotInitialized, "not initialized")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range m.sessions {
		s.End()
	}
	for _, slot := range m.slots {
		slot.destroySessionKeys(nil)
	}
	return nil
}

// Current is the initialized module.
func Current() (*Module, error) {
	m := current.Load()
	if m == nil {
		return nil, fail(CryptokiNotInitialized, "not initialized")
	}
	return m, nil
}

// Slots are the module's slots, by ID.
func (m *Module) Slots() []*Slot { return m.slots }

// Slot is the slot of id.
func (m *Module) Slot(id uint) (*Slot, error) {
	if id >= uint(len(m.slots)) {
		return nil, fail(SlotIDInvalid, "no slot %d", id)
	}
	return m.slots[id], nil
}

// OpenSession opens a session on slot id; rw allows creating keys.
func (m *Module) OpenSession(id uint, rw bool) (uint, error) {
	slot, err := m.Slot(id)
	if err != nil {
		return 0, err
	}
	h := nextHandle()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sessions[h] = &Session{Slot: slot, RW: rw}
	return h, nil
}

// CloseSession closes session h and wipes its session keys; the last
// session of a slot logs it out.
func (m *Module) CloseSession(h uint) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[h]
	if !ok {
		return fail(SessionHandleInvalid, "no session %d", h)
	}
	delete(m.sessions, h)
	s.End()
	s.Slot.destroySessionKeys(s)
	for _, o := range m.sessions {
		if o.Slot == s.Slot {
			return nil
		}
	}
	s.Slot.logout()
	return nil
}

// CloseAll closes every session of slot id.
func (m *Module) CloseAll(id uint) error {
	slot, err := m.Slot(id)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for h, s := range m.sessions {
		if s.Slot == slot {
			delete(m.sessions, h)
			s.End()
		}
	}
	slot.destroySessionKeys(nil)
	slot.logout()
	return nil
}

// Session is the session of handle h.
func (m *Module) Session(h uint) (*Session, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[h]
	if !ok {
		return nil, fail(SessionHandleInvalid, "no session %d", h)
	}
	return s, nil
}

// Slot is a tenant: its login (shared by the application's sessions, as
// PKCS#11 says) and the handles of its objects.
type Slot struct {
	ID     uint
	Tenant string

	mu      sync.Mutex
	srv     *server // nil: logged out
	objects map[uint]*Object
	byKey   map[objectKey]uint
}

type objectKey struct {
	name  string
	class uint
}

// LoggedIn reports whether a user is logged in to the slot.
func (s *Slot) LoggedIn() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv != nil
}

func (s *Slot) logout() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.srv = nil
}

// server is the slot's logged-in connection.
func (s *Slot) server() (*server, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv == nil {
		return nil, fail(UserNotLoggedIn, "log in with a mima token as the PIN")
	}
	return s.srv, nil
}

// object returns the handle of the object of key name and class, the same
// for the slot's lifetime.
func (s *Slot) object(name string, class, keyType uint) uint {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := objectKey{name, class}
	if h, ok := s.byKey[k]; ok {
		return h
	}
	h := nextHandle()
	s.byKey[k] = h
	s.objects[h] = &Object{Name: name, Class: class, KeyType: keyType, slot: s}
	return h
}

// certificate returns the handle of the certificate object of key name,
// now answering with c.
func (s *Slot) certificate(name string, c *certificate) uint {
	h := s.object(name, ClassCertificate, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects[h].cert.Store(c)
	return h
}

// Object is the object of handle h.
func (s *Slot) Object(h uint) (*Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[h]
	if !ok {
		return nil, fail(ObjectHandleInvalid, "no object %d in slot %d", h, s.ID)
	}
	return o, nil
}

// Login logs the slot in with pin, a mima token of its tenant.
func (m *Module) Login(ctx context.Context, s *Session, user uint, pin string) error {
	if user == userSO {
		return fail(FunctionNotSupported, "mima has no security officer: log in as the user")
	}
	if user != userNormal {
		return fail(UserTypeInvalid, "user type %d", user)
	}
	if s.Slot.LoggedIn() {
		return fail(UserAlreadyLoggedIn, "slot %d is logged in", s.Slot.ID)
	}
	srv, err := login(ctx, m.cfg, s.Slot.Tenant, pin)
	if err != nil {
		return err
	}
	s.Slot.mu.Lock()
	defer s.Slot.mu.Unlock()
	s.Slot.srv = srv
	return nil
}

// Logout logs the slot of s out.
func (m *Module) Logout(s *Session) error {
	if !s.Slot.LoggedIn() {
		return fail(UserNotLoggedIn, "slot %d is not logged in", s.Slot.ID)
	}
	s.Slot.logout()
	return nil
}
