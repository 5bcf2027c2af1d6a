// Package fieldcrypttest is a fieldcrypt.KeyService in the process, for
// tests and benchmarks that should not need a server.
package fieldcrypttest

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

// Keys is a KeyService in the process: every key name has its own master
// key, an HMAC-SM3 of Seed; wrapped forms are "mima:v1:" and SM4-GCM under
// it, field keys an HMAC of it. Calls counts the calls it answers.
type Keys struct {
	Seed  string
	Calls atomic.Int64
}

func (f *Keys) master(key string) *sm4gcm.AEAD {
	m := hmac.New(sm3.New, []byte(f.Seed))
	m.Write([]byte(key))
	a, err := sm4gcm.New(m.Sum(nil)[:16])
	if err != nil {
		panic(err)
	}
	return a
}

// DataKey returns a random key sealed under the master key.
func (f *Keys) DataKey(_ context.Context, key string) ([]byte, string, error) {
	f.Calls.Add(1)
	dk := make([]byte, 16)
	_, _ = rand.Read(dk)
	sealed, err := f.master(key).Seal(nil, rand.Reader, dk, nil)
	if err != nil {
		return nil, "", err
	}
	return dk, "mima:v1:" + base64.StdEncoding.EncodeToString(sealed), nil
}

// Unwrap opens a wrapped form.
func (f *Keys) Unwrap(_ context.Context, key, wrapped string) ([]byte, error) {
	f.Calls.Add(1)
	body, ok := strings.CutPrefix(wrapped, "mima:v1:")
	raw, err := base64.StdEncoding.DecodeString(body)
	if !ok || err != nil {
		return nil, fmt.Errorf("fake: not a ciphertext")
	}
	return f.master(key).Open(nil, raw, nil)
}

// FieldKey is an HMAC of the master key's seed, purpose and version.
func (f *Keys) FieldKey(_ context.Context, key, purpose string, version int) ([]byte, int, error) {
	f.Calls.Add(1)
	m := hmac.New(sm3.New, []byte(f.Seed+"/"+key))
	m.Write([]byte(purpose))
	m.Write(binary.BigEndian.AppendUint32(nil, uint32(version)))
	return m.Sum(nil)[:16], version, nil
}
