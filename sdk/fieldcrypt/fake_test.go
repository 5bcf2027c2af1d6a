package fieldcrypt

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/emmansun/gmsm/sm3"

	"github.com/mimacrypto/mima/internal/sm4gcm"
)

// fakeKeys is a KeyService in the process: every key name has its own
// master key, wrapped forms are "mima:v1:" and SM4-GCM under it, field
// keys an HMAC of it. It counts the calls it answers.
type fakeKeys struct {
	seed  string
	calls atomic.Int64
}

func (f *fakeKeys) master(key string) *sm4gcm.AEAD {
	m := hmac.New(sm3.New, []byte(f.seed))
	m.Write([]byte(key))
	a, err := sm4gcm.New(m.Sum(nil)[:16])
	if err != nil {
		panic(err)
	}
	return a
}

func (f *fakeKeys) DataKey(_ context.Context, key string) ([]byte, string, error) {
	f.calls.Add(1)
	dk := make([]byte, 16)
	_, _ = rand.Read(dk)
	sealed, err := f.master(key).Seal(nil, rand.Reader, dk, nil)
	if err != nil {
		return nil, "", err
	}
	return dk, "mima:v1:" + base64.StdEncoding.EncodeToString(sealed), nil
}

func (f *fakeKeys) Unwrap(_ context.Context, key, wrapped string) ([]byte, error) {
	f.calls.Add(1)
	body, ok := strings.CutPrefix(wrapped, "mima:v1:")
	raw, err := base64.StdEncoding.DecodeString(body)
	if !ok || err != nil {
		return nil, fmt.Errorf("fake: not a ciphertext")
	}
	return f.master(key).Open(nil, raw, nil)
}

func (f *fakeKeys) FieldKey(_ context.Context, key, purpose string, version int) ([]byte, int, error) {
	f.calls.Add(1)
	m := hmac.New(sm3.New, []byte(f.seed+"/"+key))
	m.Write([]byte(purpose))
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(version)))
	return m.Sum(nil)[:16], version, nil
}
