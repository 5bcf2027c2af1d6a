package sm9dev

import (
	"crypto/rand"
	"encoding/asn1"
	"errors"
	"testing"

	"github.com/emmansun/gmsm/sm9"

	"github.com/mimacrypto/mima/sdk"
)

// userKey extracts the delivered form of id's signature key with gmsm.
func userKey(t *testing.T, m *sm9.SignMasterPrivateKey, id string) []byte {
	t.Helper()
	u, err := m.GenerateUserKey([]byte(id), SignHID)
	if err != nil {
		t.Fatal(err)
	}
	der, err := asn1.Marshal(struct{ Private, Master asn1.BitString }{bits(u.Bytes()), bits(m.PublicKey().Bytes())})
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// TestCheckList accepts a list that the list signer signed and refuses
// one that a terminal signed with its own key of the same KGC, whatever
// signer it names.
func TestCheckList(t *testing.T) {
	m, err := sm9.GenerateSignMasterKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	k, err := Parse("rtu-1", userKey(t, m, "rtu-1"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := Parse(ListSigner, userKey(t, m, ListSigner))
	if err != nil {
		t.Fatal(err)
	}
	body := []byte(`{"tenant":"acme","kgc":"kgc1","serial":3,"revoked":["rtu-9"]}`)
	good, _ := signer.Sign(body)
	forged, _ := k.Sign(body)
	l, err := k.CheckList(sdk.SM9RevocationList{Body: body, Signer: ListSigner, Signature: good})
	if err != nil || l.Serial != 3 || len(l.Revoked) != 1 {
		t.Fatalf("the KGC's list: %+v, %v", l, err)
	}
	for _, bad := range []sdk.SM9RevocationList{
		{Body: body, Signer: "rtu-1", Signature: forged},
		{Body: body, Signer: ListSigner, Signature: forged},
		{Body: body, Signer: ListSigner},
		{Body: append(body, ' '), Signer: ListSigner, Signature: good},
	} {
		if _, err := k.CheckList(bad); err == nil {
			t.Errorf("accepted a list signed by %q", bad.Signer)
		}
	}
	if der, err := k.Marshal(); err != nil || string(der) != string(userKey(t, m, "rtu-1")) {
		t.Errorf("Marshal: %x, %v", der, err)
	}
	if _, err := k.Decrypt([]byte{1}); !errors.Is(err, ErrKeyType) {
		t.Errorf("a signature key decrypts: %v", err)
	}
	// gmsm's own form lacks the master public key, which the terminal
	// needs: refused, like junk.
	alone, _ := signer.sign.MarshalASN1()
	for _, b := range [][]byte{nil, []byte("junk"), alone} {
		if _, err := Parse("x", b); err == nil {
			t.Errorf("parsed %x", b)
		}
	}
}
