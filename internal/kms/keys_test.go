package kms

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/mimacrypto/mima/internal/device"
	"github.com/mimacrypto/mima/internal/fault"
)

func TestCreateAndGet(t *testing.T) {
	s, _, c := newTestService(t)
	ki := mustCreate(t, s, "acme", "payments", device.SM4, func(r *CreateRequest) {
		r.Description, r.Tags, r.Exportable, r.AutoRotatePeriod = "card data", map[string]string{"team": "pay"}, true, 24*time.Hour
	})
	if ki.Name != "payments" || ki.Type != device.SM4 || ki.State != Enabled || ki.LatestVersion != 1 ||
		ki.MinDecryptionVersion != 1 || ki.MinEncryptionVersion != 1 || !ki.Exportable || ki.Derived ||
		ki.Tags["team"] != "pay" || !ki.CreatedAt.Equal(c.Now()) || ki.NextRotation == nil || !ki.NextRotation.Equal(c.Now().Add(24*time.Hour)) {
		t.Fatalf("created key info: %+v", ki)
	}
	got, err := s.Get(ctx, "acme", "payments")
	if err != nil {
		t.Fatal(err)
	}
	a, _ := json.Marshal(ki)
	b, _ := json.Marshal(got)
	if string(a) != string(b) {
		t.Fatalf("Get = %s, Create returned %s", b, a)
	}
	for _, typ := range []device.KeyType{device.SM2, device.HMACSM3} {
		if ki := mustCreate(t, s, "acme", string(typ)+"-key", typ); ki.Type != typ {
			t.Errorf("created %s key has type %s", typ, ki.Type)
		}
	}
}

func TestCreateRejects(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "taken", device.SM4)
	tags := map[string]string{}
	for i := range maxTags + 1 {
		tags[strings.Repeat("t", i+1)] = "v"
	}
	for _, tc := range []struct {
		name   string
		tenant string
		req    CreateRequest
		code   fault.Code
	}{
		{"empty name", "acme", CreateRequest{Type: device.SM4}, fault.InvalidArgument},
		{"long name", "acme", CreateRequest{Name: strings.Repeat("a", 129), Type: device.SM4}, fault.InvalidArgument},
		{"slash", "acme", CreateRequest{Name: "a/b", Type: device.SM4}, fault.InvalidArgument},
		{"alias name", "acme", CreateRequest{Name: "alias:x", Type: device.SM4}, fault.InvalidArgument},
		{"space", "acme", CreateRequest{Name: "a b", Type: device.SM4}, fault.InvalidArgument},
		{"unknown type", "acme", CreateRequest{Name: "k", Type: "rsa"}, fault.InvalidArgument},
		{"reserved type zuc", "acme", CreateRequest{Name: "k", Type: "zuc"}, fault.InvalidArgument},
		{"reserved type sm9", "acme", CreateRequest{Name: "k", Type: "sm9-sign"}, fault.InvalidArgument},
		{"derived sm2", "acme", CreateRequest{Name: "k", Type: device.SM2, Derived: true}, fault.InvalidArgument},
		{"short rotation", "acme", CreateRequest{Name: "k", Type: device.SM4, AutoRotatePeriod: time.Minute}, fault.InvalidArgument},
		{"too many tags", "acme", CreateRequest{Name: "k", Type: device.SM4, Tags: tags}, fault.InvalidArgument},
		{"empty tag key", "acme", CreateRequest{Name: "k", Type: device.SM4, Tags: map[string]string{"": "v"}}, fault.InvalidArgument},
		{"long description", "acme", CreateRequest{Name: "k", Type: device.SM4, Description: strings.Repeat("d", 1025)}, fault.InvalidArgument},
		{"bad tenant", "Acme/x", CreateRequest{Name: "k", Type: device.SM4}, fault.InvalidArgument},
		{"duplicate", "acme", CreateRequest{Name: "taken", Type: device.SM2}, fault.AlreadyExists},
	} {
		_, err := s.Create(ctx, tc.tenant, tc.req)
		wantCode(t, tc.name, err, tc.code)
	}
	if _, err := s.Create(ctx, "acme", CreateRequest{Name: "k", Type: "zuc"}); err == nil || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("unknown type message: %v", err)
	}
}

func TestRotateAndMinVersions(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	ct1 := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("one")})
	ki, err := s.Rotate(ctx, "acme", "k")
	if err != nil || ki.LatestVersion != 2 || len(ki.Versions) != 2 {
		t.Fatalf("Rotate = %+v, %v", ki, err)
	}
	ct2 := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("two")})
	if !strings.HasPrefix(ct1, "mima:v1:") || !strings.HasPrefix(ct2, "mima:v2:") {
		t.Fatalf("ciphertext versions: %s, %s", ct1, ct2)
	}
	if pt, err := s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct1}); err != nil || string(pt) != "one" {
		t.Fatalf("old version decrypt: %q, %v", pt, err)
	}
	if ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("x"), Version: 1}); !strings.HasPrefix(ct, "mima:v1:") {
		t.Fatalf("explicit version 1: %s", ct)
	}
	for _, tc := range []struct {
		name string
		mv   MinVersions
	}{
		{"above latest", MinVersions{Decryption: 3}},
		{"encryption below decryption", MinVersions{Decryption: 2, Encryption: 1}},
		{"negative", MinVersions{Decryption: -1}},
	} {
		_, err := s.SetMinVersions(ctx, "acme", "k", tc.mv)
		wantCode(t, tc.name, err, fault.InvalidArgument)
	}
	ki, err = s.SetMinVersions(ctx, "acme", "k", MinVersions{Decryption: 2, Encryption: 2})
	if err != nil || ki.MinDecryptionVersion != 2 || ki.MinEncryptionVersion != 2 {
		t.Fatalf("SetMinVersions = %+v, %v", ki, err)
	}
	_, err = s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct1})
	wantCode(t, "decrypt below minimum", err, fault.KeyVersionTooOld)
	_, err = s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("x"), Version: 1})
	wantCode(t, "encrypt below minimum", err, fault.KeyVersionTooOld)
	_, err = s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("x"), Version: 3})
	wantCode(t, "encrypt with absent version", err, fault.InvalidArgument)
	if pt, err := s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct2}); err != nil || string(pt) != "two" {
		t.Fatalf("latest version decrypt: %q, %v", pt, err)
	}
}

func TestDisableAndEnable(t *testing.T) {
	s, _, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	mustCreate(t, s, "acme", "signer", device.SM2)
	ct := mustEncrypt(t, s, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	for _, name := range []string{"k", "signer"} {
		if ki, err := s.Disable(ctx, "acme", name); err != nil || ki.State != Disabled {
			t.Fatalf("Disable = %+v, %v", ki, err)
		}
	}
	_, err := s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	wantCode(t, "encrypt", err, fault.KeyDisabled)
	_, err = s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct})
	wantCode(t, "decrypt", err, fault.KeyDisabled)
	_, err = s.MAC(ctx, "acme", "k", MACRequest{Input: []byte("p")})
	wantCode(t, "mac", err, fault.KeyDisabled)
	_, err = s.Sign(ctx, "acme", "signer", SignRequest{Input: []byte("p")})
	wantCode(t, "sign", err, fault.KeyDisabled)
	if _, err := s.PublicKey(ctx, "acme", "signer", 0); err != nil {
		t.Errorf("public key of a disabled key: %v", err)
	}
	if ki, err := s.Get(ctx, "acme", "k"); err != nil || ki.State != Disabled {
		t.Fatalf("Get disabled = %+v, %v", ki, err)
	}
	page, err := s.List(ctx, "acme", ListOptions{State: Disabled})
	if err != nil || len(page.Keys) != 2 {
		t.Fatalf("List disabled = %+v, %v", page, err)
	}
	if _, err := s.Enable(ctx, "acme", "k"); err != nil {
		t.Fatal(err)
	}
	if pt, err := s.Decrypt(ctx, "acme", "k", DecryptRequest{Ciphertext: ct}); err != nil || string(pt) != "p" {
		t.Fatalf("decrypt after enable: %q, %v", pt, err)
	}
}

func TestScheduleAndCancelDeletion(t *testing.T) {
	s, _, c := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4)
	for _, days := range []int{-1, 6, 31} {
		_, err := s.ScheduleDeletion(ctx, "acme", "k", days)
		wantCode(t, "waiting period", err, fault.InvalidArgument)
	}
	ki, err := s.ScheduleDeletion(ctx, "acme", "k", 0)
	if err != nil || ki.State != PendingDeletion || ki.DeletionDate == nil || !ki.DeletionDate.Equal(c.Now().Add(30*24*time.Hour)) {
		t.Fatalf("ScheduleDeletion = %+v, %v", ki, err)
	}
	_, err = s.Encrypt(ctx, "acme", "k", EncryptRequest{Plaintext: []byte("p")})
	wantCode(t, "encrypt pending", err, fault.KeyPendingDeletion)
	_, err = s.ScheduleDeletion(ctx, "acme", "k", 7)
	wantCode(t, "schedule twice", err, fault.KeyPendingDeletion)
	_, err = s.Enable(ctx, "acme", "k")
	wantCode(t, "enable pending", err, fault.KeyPendingDeletion)
	_, err = s.Rotate(ctx, "acme", "k")
	wantCode(t, "rotate pending", err, fault.KeyPendingDeletion)
	ki, err = s.CancelDeletion(ctx, "acme", "k")
	if err != nil || ki.State != Disabled || ki.DeletionDate != nil {
		t.Fatalf("CancelDeletion = %+v, %v", ki, err)
	}
	_, err = s.CancelDeletion(ctx, "acme", "k")
	wantCode(t, "cancel twice", err, fault.InvalidArgument)
	_, err = s.Rotate(ctx, "acme", "missing")
	wantCode(t, "rotate missing", err, fault.KeyNotFound)
	_, err = s.Get(ctx, "acme", "not a name")
	wantCode(t, "get invalid name", err, fault.InvalidArgument)
}

func TestRecordFormat(t *testing.T) {
	s, st, _ := newTestService(t)
	mustCreate(t, s, "acme", "k", device.SM4, func(r *CreateRequest) { r.Tags = map[string]string{"a": "b"} })
	b, err := st.Get(ctx, "t/acme/keys/k")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"name", "type", "state", "created_at", "updated_at", "min_decryption_version", "min_encryption_version", "versions", "tags", "exportable", "derived"} {
		if _, ok := m[field]; !ok {
			t.Errorf("record lacks %q: %s", field, b)
		}
	}
	v := m["versions"].([]any)[0].(map[string]any)
	if v["version"] != 1.0 || v["material"] == "" || v["created_at"] == "" {
		t.Errorf("version entry: %v", v)
	}
}
