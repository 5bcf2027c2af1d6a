package tlcp

import (
	"crypto/hmac"
	"hash"

	"github.com/emmansun/gmsm/sm3"
)

// Labels of the key calculation (GB/T 38636-2020 6.5.1, 6.5.2, 6.4.5.10).
var (
	labelMasterSecret   = []byte("master secret")
	labelKeyExpansion   = []byte("key expansion")
	labelClientFinished = []byte("client finished")
	labelServerFinished = []byte("server finished")
)

// prf fills result with PRF(secret, label, seed) = P_SM3(secret, label ||
// seed), the TLS 1.2 P_hash construction instantiated with HMAC-SM3
// (GB/T 38636-2020 6.5).
func prf(result, secret, label, seed []byte) {
	h := hmac.New(sm3.New, secret)
	labelSeed := make([]byte, 0, len(label)+len(seed))
	labelSeed = append(append(labelSeed, label...), seed...)

	// A(1) = HMAC(secret, seed); A(i) = HMAC(secret, A(i-1)).
	h.Write(labelSeed)
	a := h.Sum(nil)
	for n := 0; n < len(result); {
		h.Reset()
		h.Write(a)
		h.Write(labelSeed)
		n += copy(result[n:], h.Sum(nil))

		h.Reset()
		h.Write(a)
		a = h.Sum(a[:0])
	}
}

// masterFromPreMaster derives the 48-byte master secret
// (GB/T 38636-2020 6.5.1).
func masterFromPreMaster(preMaster, clientRandom, serverRandom []byte) []byte {
	seed := make([]byte, 0, 2*randomLen)
	seed = append(append(seed, clientRandom...), serverRandom...)
	master := make([]byte, masterSecretLen)
	prf(master, preMaster, labelMasterSecret, seed)
	return master
}

// keyBlock is the key material of GB/T 38636-2020 6.5.2, split in the order
// the standard lists it.
type keyBlock struct {
	clientMAC, serverMAC, clientKey, serverKey, clientIV, serverIV []byte
}

// keysFromMaster expands the master secret into the key block of suite s
// (GB/T 38636-2020 6.5.2). The seed is server_random || client_random.
func keysFromMaster(s *cipherSuite, master, clientRandom, serverRandom []byte) keyBlock {
	seed := make([]byte, 0, 2*randomLen)
	seed = append(append(seed, serverRandom...), clientRandom...)
	material := make([]byte, 2*(s.macLen+s.keyLen+s.ivLen))
	prf(material, master, labelKeyExpansion, seed)
	next := func(n int) []byte {
		out := material[:n:n]
		material = material[n:]
		return out
	}
	var kb keyBlock
	kb.clientMAC, kb.serverMAC = next(s.macLen), next(s.macLen)
	kb.clientKey, kb.serverKey = next(s.keyLen), next(s.keyLen)
	kb.clientIV, kb.serverIV = next(s.ivLen), next(s.ivLen)
	return kb
}

// transcript hashes the handshake messages with SM3 for Finished and
// CertificateVerify (GB/T 38636-2020 6.4.5.9, 6.4.5.10).
type transcript struct {
	h hash.Hash
}

func newTranscript() *transcript { return &transcript{h: sm3.New()} }

func (t *transcript) add(msg []byte) { t.h.Write(msg) }

// sum returns SM3 of the messages added so far.
func (t *transcript) sum() []byte { return t.h.Sum(nil) }

// finished returns verify_data = PRF(master_secret, label,
// SM3(handshake_messages))[0..11] (GB/T 38636-2020 6.4.5.10).
func (t *transcript) finished(master []byte, client bool) []byte {
	label := labelServerFinished
	if client {
		label = labelClientFinished
	}
	out := make([]byte, verifyDataLen)
	prf(out, master, label, t.sum())
	return out
}
