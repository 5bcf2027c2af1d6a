// Command libmimasdf is the GM/T 0018-2012 SDF library over mima, built
// with -buildmode=c-shared into libmimasdf.so (scripts/build-sdf); sdf.h
// is its header. The work is done by internal/sdf; this file converts the
// standard's C structures and handles. docs/sdf.md is the manual.
package main

/*
#include <stdint.h>
#include <stdlib.h>
#include "sdf.h"

static inline void *mima_handle(uintptr_t h) { return (void *)h; }
*/
import "C"

import (
	"context"
	"crypto/ecdsa"
	"unsafe"

	"github.com/mimacrypto/mima/internal/sdf"
)

func main() {}

// coord is the size of an SM2 coordinate in the right-aligned 64-byte
// arrays of the standard's structures.
const coord = 32

// maxCipher bounds the L of an ECCCipher the library reads.
const maxCipher = 1 << 20

// call runs f and returns its return code; a panic is SDR_UNKNOWERR,
// never a crash of the caller.
func call(f func() error) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = C.int(sdf.UnknownErr)
		}
	}()
	return C.int(sdf.CodeOf(f()))
}

// onSession runs f on the session of handle h.
func onSession(h unsafe.Pointer, f func(s *sdf.Session) error) C.int {
	return call(func() error {
		s, err := sdf.SessionOf(uintptr(h))
		if err != nil {
			return err
		}
		return f(s)
	})
}

var (
	errIn  = &sdf.Error{Code: sdf.InArgErr, Err: errNil("an input")}
	errOut = &sdf.Error{Code: sdf.OutArgErr, Err: errNil("an output")}
)

type errNil string

func (e errNil) Error() string { return string(e) + " pointer is NULL" }

// bytesIn is the C buffer p of n bytes, without copying.
func bytesIn(p *C.uchar, n C.uint) []byte {
	if n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// bytesOut is the C buffer p seen as n bytes to write.
func bytesOut(p *C.uchar, n int) []byte {
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), n)
}

// right is the last 32 bytes of a 64-byte array of the standard.
func right(a *[64]C.uchar) []byte {
	return (*[64]byte)(unsafe.Pointer(a))[64-coord:]
}

func putHandle(dst *unsafe.Pointer, h uintptr) { *dst = C.mima_handle(C.uintptr_t(h)) }

func publicKeyIn(p *C.ECCrefPublicKey) (*ecdsa.PublicKey, error) {
	if p == nil {
		return nil, errIn
	}
	if p.bits != 256 {
		return nil, &sdf.Error{Code: sdf.KeyErr, Err: errNil("a 256-bit public key")}
	}
	var x, y [coord]byte
	copy(x[:], right(&p.x))
	copy(y[:], right(&p.y))
	return sdf.PublicKey(x, y)
}

func publicKeyOut(p *C.ECCrefPublicKey, pub *ecdsa.PublicKey) error {
	x, y, err := sdf.Coordinates(pub)
	if err != nil {
		return err
	}
	*p = C.ECCrefPublicKey{bits: 256}
	copy(right(&p.x), x[:])
	copy(right(&p.y), y[:])
	return nil
}

func privateKeyIn(p *C.ECCrefPrivateKey) ([coord]byte, error) {
	var d [coord]byte
	if p == nil {
		return d, errIn
	}
	if p.bits != 256 {
		return d, &sdf.Error{Code: sdf.KeyErr, Err: errNil("a 256-bit private key")}
	}
	copy(d[:], right(&p.K))
	return d, nil
}

func signatureIn(p *C.ECCSignature) (sdf.Signature, error) {
	var s sdf.Signature
	if p == nil {
		return s, errIn
	}
	copy(s.R[:], right(&p.r))
	copy(s.S[:], right(&p.s))
	return s, nil
}

func signatureOut(p *C.ECCSignature, s sdf.Signature) {
	*p = C.ECCSignature{}
	copy(right(&p.r), s.R[:])
	copy(right(&p.s), s.S[:])
}

func cipherIn(p *C.ECCCipher) (sdf.Cipher, error) {
	var c sdf.Cipher
	if p == nil {
		return c, errIn
	}
	if p.L == 0 || p.L > maxCipher {
		return c, &sdf.Error{Code: sdf.InArgErr, Err: errNil("an ECCCipher with a sane L")}
	}
	copy(c.X[:], right(&p.x))
	copy(c.Y[:], right(&p.y))
	copy(c.M[:], (*[32]byte)(unsafe.Pointer(&p.M))[:])
	c.C = append([]byte(nil), bytesIn(&p.C[0], p.L)...)
	return c, nil
}

// cipherOut writes c into p, which has room for len(c.C) bytes of C.
func cipherOut(p *C.ECCCipher, c sdf.Cipher) {
	*p = C.ECCCipher{L: C.uint(len(c.C))}
	copy(right(&p.x), c.X[:])
	copy(right(&p.y), c.Y[:])
	copy((*[32]byte)(unsafe.Pointer(&p.M))[:], c.M[:])
	copy(bytesOut(&p.C[0], len(c.C)), c.C)
}

// writeOut copies b to the output buffer p and its length to n.
func writeOut(p *C.uchar, n *C.uint, b []byte) error {
	if p == nil || n == nil {
		return errOut
	}
	copy(bytesOut(p, len(b)), b)
	*n = C.uint(len(b))
	return nil
}

//export SDF_OpenDevice
func SDF_OpenDevice(phDeviceHandle *unsafe.Pointer) C.int {
	return call(func() error {
		if phDeviceHandle == nil {
			return errOut
		}
		h, err := sdf.OpenDevice(context.Background())
		if err == nil {
			putHandle(phDeviceHandle, h)
		}
		return err
	})
}

//export SDF_CloseDevice
func SDF_CloseDevice(hDeviceHandle unsafe.Pointer) C.int {
	return call(func() error { return sdf.CloseDevice(uintptr(hDeviceHandle)) })
}

//export SDF_OpenSession
func SDF_OpenSession(hDeviceHandle unsafe.Pointer, phSessionHandle *unsafe.Pointer) C.int {
	return call(func() error {
		if phSessionHandle == nil {
			return errOut
		}
		h, err := sdf.OpenSession(uintptr(hDeviceHandle))
		if err == nil {
			putHandle(phSessionHandle, h)
		}
		return err
	})
}

//export SDF_CloseSession
func SDF_CloseSession(hSessionHandle unsafe.Pointer) C.int {
	return call(func() error { return sdf.CloseSession(uintptr(hSessionHandle)) })
}

// fill copies s into a fixed-size text field of DEVICEINFO.
func fill(dst []C.uchar, s string) {
	for i := range dst {
		dst[i] = 0
		if i < len(s) {
			dst[i] = C.uchar(s[i])
		}
	}
}

//export SDF_GetDeviceInfo
func SDF_GetDeviceInfo(hSessionHandle unsafe.Pointer, pstDeviceInfo *C.DEVICEINFO) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pstDeviceInfo == nil {
			return errOut
		}
		info := sdf.Info()
		*pstDeviceInfo = C.DEVICEINFO{
			DeviceVersion:   C.uint(info.DeviceVersion),
			StandardVersion: C.uint(info.StandardVersion),
			AsymAlgAbility:  [2]C.uint{C.uint(info.AsymAlgAbility[0]), C.uint(info.AsymAlgAbility[1])},
			SymAlgAbility:   C.uint(info.SymAlgAbility),
			HashAlgAbility:  C.uint(info.HashAlgAbility),
			BufferSize:      C.uint(info.BufferSize),
		}
		fill(pstDeviceInfo.IssuerName[:], info.Issuer)
		fill(pstDeviceInfo.DeviceName[:], info.Name)
		fill(pstDeviceInfo.DeviceSerial[:], info.Serial)
		return nil
	})
}

//export SDF_GenerateRandom
func SDF_GenerateRandom(hSessionHandle unsafe.Pointer, uiLength C.uint, pucRandom *C.uchar) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucRandom == nil {
			return errOut
		}
		return s.Random(context.Background(), bytesOut(pucRandom, int(uiLength)))
	})
}

//export SDF_GetPrivateKeyAccessRight
func SDF_GetPrivateKeyAccessRight(hSessionHandle unsafe.Pointer, uiKeyIndex C.uint, pucPassword *C.uchar, uiPwdLength C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucPassword == nil || uiPwdLength == 0 {
			return errIn
		}
		return s.GetAccessRight(context.Background(), uint32(uiKeyIndex), bytesIn(pucPassword, uiPwdLength))
	})
}

//export SDF_ReleasePrivateKeyAccessRight
func SDF_ReleasePrivateKeyAccessRight(hSessionHandle unsafe.Pointer, uiKeyIndex C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error { return s.ReleaseAccessRight(uint32(uiKeyIndex)) })
}

// exportPublicKey writes the public key of index i: an index's signing
// and encryption pairs are the same mima sm2 key.
func exportPublicKey(h unsafe.Pointer, i C.uint, p *C.ECCrefPublicKey) C.int {
	return onSession(h, func(s *sdf.Session) error {
		if p == nil {
			return errOut
		}
		pub, err := s.PublicKey(context.Background(), uint32(i))
		if err != nil {
			return err
		}
		return publicKeyOut(p, pub)
	})
}

//export SDF_ExportSignPublicKey_ECC
func SDF_ExportSignPublicKey_ECC(hSessionHandle unsafe.Pointer, uiKeyIndex C.uint, pucPublicKey *C.ECCrefPublicKey) C.int {
	return exportPublicKey(hSessionHandle, uiKeyIndex, pucPublicKey)
}

//export SDF_ExportEncPublicKey_ECC
func SDF_ExportEncPublicKey_ECC(hSessionHandle unsafe.Pointer, uiKeyIndex C.uint, pucPublicKey *C.ECCrefPublicKey) C.int {
	return exportPublicKey(hSessionHandle, uiKeyIndex, pucPublicKey)
}

//export SDF_GenerateKeyPair_ECC
func SDF_GenerateKeyPair_ECC(hSessionHandle unsafe.Pointer, uiAlgID, uiKeyBits C.uint, pucPublicKey *C.ECCrefPublicKey, pucPrivateKey *C.ECCrefPrivateKey) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucPublicKey == nil || pucPrivateKey == nil {
			return errOut
		}
		pub, d, err := sdf.GenerateKeyPair(uint32(uiAlgID), uint32(uiKeyBits))
		if err != nil {
			return err
		}
		defer clear(d[:])
		if err := publicKeyOut(pucPublicKey, pub); err != nil {
			return err
		}
		*pucPrivateKey = C.ECCrefPrivateKey{bits: 256}
		copy(right(&pucPrivateKey.K), d[:])
		return nil
	})
}

// newKey runs f, which makes a session key, and writes its handle.
func newKey(ph *unsafe.Pointer, f func() (uintptr, error)) error {
	if ph == nil {
		return errOut
	}
	h, err := f()
	if err == nil {
		putHandle(ph, h)
	}
	return err
}

//export SDF_GenerateKeyWithIPK_ECC
func SDF_GenerateKeyWithIPK_ECC(hSessionHandle unsafe.Pointer, uiIPKIndex, uiKeyBits C.uint, pucKey *C.ECCCipher, phKeyHandle *unsafe.Pointer) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucKey == nil {
			return errOut
		}
		return newKey(phKeyHandle, func() (uintptr, error) {
			c, h, err := s.GenerateKeyWithIPK(context.Background(), uint32(uiIPKIndex), uint32(uiKeyBits))
			if err == nil {
				cipherOut(pucKey, c)
			}
			return h, err
		})
	})
}

//export SDF_GenerateKeyWithEPK_ECC
func SDF_GenerateKeyWithEPK_ECC(hSessionHandle unsafe.Pointer, uiKeyBits, uiAlgID C.uint, pucPublicKey *C.ECCrefPublicKey, pucKey *C.ECCCipher, phKeyHandle *unsafe.Pointer) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		pub, err := publicKeyIn(pucPublicKey)
		if err != nil {
			return err
		}
		if pucKey == nil {
			return errOut
		}
		return newKey(phKeyHandle, func() (uintptr, error) {
			c, h, err := s.GenerateKeyWithEPK(context.Background(), uint32(uiKeyBits), uint32(uiAlgID), pub)
			if err == nil {
				cipherOut(pucKey, c)
			}
			return h, err
		})
	})
}

//export SDF_ImportKeyWithISK_ECC
func SDF_ImportKeyWithISK_ECC(hSessionHandle unsafe.Pointer, uiISKIndex C.uint, pucKey *C.ECCCipher, phKeyHandle *unsafe.Pointer) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		c, err := cipherIn(pucKey)
		if err != nil {
			return err
		}
		return newKey(phKeyHandle, func() (uintptr, error) {
			return s.ImportKeyWithISK(context.Background(), uint32(uiISKIndex), c)
		})
	})
}

//export SDF_ExchangeDigitEnvelopeBaseOnECC
func SDF_ExchangeDigitEnvelopeBaseOnECC(hSessionHandle unsafe.Pointer, uiKeyIndex, uiAlgID C.uint, pucPublicKey *C.ECCrefPublicKey, pucEncDataIn, pucEncDataOut *C.ECCCipher) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		pub, err := publicKeyIn(pucPublicKey)
		if err != nil {
			return err
		}
		in, err := cipherIn(pucEncDataIn)
		if err != nil {
			return err
		}
		if pucEncDataOut == nil {
			return errOut
		}
		out, err := s.ExchangeEnvelope(context.Background(), uint32(uiKeyIndex), uint32(uiAlgID), pub, in)
		if err == nil {
			cipherOut(pucEncDataOut, out)
		}
		return err
	})
}

//export SDF_GenerateKeyWithKEK
func SDF_GenerateKeyWithKEK(hSessionHandle unsafe.Pointer, uiKeyBits, uiAlgID, uiKEKIndex C.uint, pucKey *C.uchar, puiKeyLength *C.uint, phKeyHandle *unsafe.Pointer) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucKey == nil || puiKeyLength == nil {
			return errOut
		}
		return newKey(phKeyHandle, func() (uintptr, error) {
			wrapped, h, err := s.GenerateKeyWithKEK(context.Background(), uint32(uiKeyBits), uint32(uiAlgID), uint32(uiKEKIndex))
			if err == nil {
				err = writeOut(pucKey, puiKeyLength, wrapped)
			}
			return h, err
		})
	})
}

//export SDF_ImportKeyWithKEK
func SDF_ImportKeyWithKEK(hSessionHandle unsafe.Pointer, uiAlgID, uiKEKIndex C.uint, pucKey *C.uchar, uiKeyLength C.uint, phKeyHandle *unsafe.Pointer) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucKey == nil || uiKeyLength == 0 {
			return errIn
		}
		return newKey(phKeyHandle, func() (uintptr, error) {
			return s.ImportKeyWithKEK(context.Background(), uint32(uiAlgID), uint32(uiKEKIndex), bytesIn(pucKey, uiKeyLength))
		})
	})
}

//export SDF_ImportKey
func SDF_ImportKey(hSessionHandle unsafe.Pointer, pucKey *C.uchar, uiKeyLength C.uint, phKeyHandle *unsafe.Pointer) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucKey == nil {
			return errIn
		}
		return newKey(phKeyHandle, func() (uintptr, error) { return s.ImportKey(bytesIn(pucKey, uiKeyLength)) })
	})
}

//export SDF_DestroyKey
func SDF_DestroyKey(hSessionHandle, hKeyHandle unsafe.Pointer) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error { return s.DestroyKey(uintptr(hKeyHandle)) })
}

//export SDF_ExternalSign_ECC
func SDF_ExternalSign_ECC(hSessionHandle unsafe.Pointer, uiAlgID C.uint, pucPrivateKey *C.ECCrefPrivateKey, pucData *C.uchar, uiDataLength C.uint, pucSignature *C.ECCSignature) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		d, err := privateKeyIn(pucPrivateKey)
		if err != nil {
			return err
		}
		defer clear(d[:])
		if pucData == nil {
			return errIn
		}
		if pucSignature == nil {
			return errOut
		}
		sig, err := sdf.ExternalSign(uint32(uiAlgID), d, bytesIn(pucData, uiDataLength))
		if err == nil {
			signatureOut(pucSignature, sig)
		}
		return err
	})
}

//export SDF_ExternalVerify_ECC
func SDF_ExternalVerify_ECC(hSessionHandle unsafe.Pointer, uiAlgID C.uint, pucPublicKey *C.ECCrefPublicKey, pucDataInput *C.uchar, uiInputLength C.uint, pucSignature *C.ECCSignature) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		pub, err := publicKeyIn(pucPublicKey)
		if err != nil {
			return err
		}
		sig, err := signatureIn(pucSignature)
		if err != nil {
			return err
		}
		if pucDataInput == nil {
			return errIn
		}
		return sdf.ExternalVerify(uint32(uiAlgID), pub, bytesIn(pucDataInput, uiInputLength), sig)
	})
}

//export SDF_InternalSign_ECC
func SDF_InternalSign_ECC(hSessionHandle unsafe.Pointer, uiISKIndex C.uint, pucData *C.uchar, uiDataLength C.uint, pucSignature *C.ECCSignature) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucData == nil {
			return errIn
		}
		if pucSignature == nil {
			return errOut
		}
		sig, err := s.Sign(context.Background(), uint32(uiISKIndex), bytesIn(pucData, uiDataLength))
		if err == nil {
			signatureOut(pucSignature, sig)
		}
		return err
	})
}

//export SDF_InternalVerify_ECC
func SDF_InternalVerify_ECC(hSessionHandle unsafe.Pointer, uiIPKIndex C.uint, pucData *C.uchar, uiDataLength C.uint, pucSignature *C.ECCSignature) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		sig, err := signatureIn(pucSignature)
		if err != nil {
			return err
		}
		if pucData == nil {
			return errIn
		}
		return s.Verify(context.Background(), uint32(uiIPKIndex), bytesIn(pucData, uiDataLength), sig)
	})
}

//export SDF_ExternalEncrypt_ECC
func SDF_ExternalEncrypt_ECC(hSessionHandle unsafe.Pointer, uiAlgID C.uint, pucPublicKey *C.ECCrefPublicKey, pucData *C.uchar, uiDataLength C.uint, pucEncData *C.ECCCipher) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		pub, err := publicKeyIn(pucPublicKey)
		if err != nil {
			return err
		}
		if pucData == nil {
			return errIn
		}
		if pucEncData == nil {
			return errOut
		}
		c, err := sdf.ExternalEncrypt(uint32(uiAlgID), pub, bytesIn(pucData, uiDataLength))
		if err == nil {
			cipherOut(pucEncData, c)
		}
		return err
	})
}

//export SDF_ExternalDecrypt_ECC
func SDF_ExternalDecrypt_ECC(hSessionHandle unsafe.Pointer, uiAlgID C.uint, pucPrivateKey *C.ECCrefPrivateKey, pucEncData *C.ECCCipher, pucData *C.uchar, puiDataLength *C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		d, err := privateKeyIn(pucPrivateKey)
		if err != nil {
			return err
		}
		defer clear(d[:])
		c, err := cipherIn(pucEncData)
		if err != nil {
			return err
		}
		pt, err := sdf.ExternalDecrypt(uint32(uiAlgID), d, c)
		if err != nil {
			return err
		}
		defer clear(pt)
		return writeOut(pucData, puiDataLength, pt)
	})
}

//export SDF_InternalEncrypt_ECC
func SDF_InternalEncrypt_ECC(hSessionHandle unsafe.Pointer, uiIPKIndex, uiAlgID C.uint, pucData *C.uchar, uiDataLength C.uint, pucEncData *C.ECCCipher) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if uiAlgID != C.uint(sdf.AlgSM2) && uiAlgID != C.uint(sdf.AlgSM2_3) {
			return &sdf.Error{Code: sdf.AlgNotSupport, Err: errNil("an SM2 algorithm")}
		}
		if pucData == nil || uiDataLength == 0 {
			return errIn
		}
		if pucEncData == nil {
			return errOut
		}
		c, err := s.Encrypt(context.Background(), uint32(uiIPKIndex), bytesIn(pucData, uiDataLength))
		if err == nil {
			cipherOut(pucEncData, c)
		}
		return err
	})
}

//export SDF_InternalDecrypt_ECC
func SDF_InternalDecrypt_ECC(hSessionHandle unsafe.Pointer, uiISKIndex, uiAlgID C.uint, pucEncData *C.ECCCipher, pucData *C.uchar, puiDataLength *C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if uiAlgID != C.uint(sdf.AlgSM2) && uiAlgID != C.uint(sdf.AlgSM2_3) {
			return &sdf.Error{Code: sdf.AlgNotSupport, Err: errNil("an SM2 algorithm")}
		}
		c, err := cipherIn(pucEncData)
		if err != nil {
			return err
		}
		pt, err := s.Decrypt(context.Background(), uint32(uiISKIndex), c)
		if err != nil {
			return err
		}
		defer clear(pt)
		return writeOut(pucData, puiDataLength, pt)
	})
}

// crypt runs SDF_Encrypt or SDF_Decrypt.
func crypt(h, key unsafe.Pointer, alg C.uint, iv, in *C.uchar, n C.uint, out *C.uchar, outLen *C.uint, encrypt bool) C.int {
	return onSession(h, func(s *sdf.Session) error {
		if in == nil {
			return errIn
		}
		var ivb []byte
		if iv != nil {
			ivb = bytesOut(iv, 16)
		}
		b, err := s.Crypt(uintptr(key), uint32(alg), ivb, bytesIn(in, n), encrypt)
		if err != nil {
			return err
		}
		return writeOut(out, outLen, b)
	})
}

//export SDF_Encrypt
func SDF_Encrypt(hSessionHandle, hKeyHandle unsafe.Pointer, uiAlgID C.uint, pucIV, pucData *C.uchar, uiDataLength C.uint, pucEncData *C.uchar, puiEncDataLength *C.uint) C.int {
	return crypt(hSessionHandle, hKeyHandle, uiAlgID, pucIV, pucData, uiDataLength, pucEncData, puiEncDataLength, true)
}

//export SDF_Decrypt
func SDF_Decrypt(hSessionHandle, hKeyHandle unsafe.Pointer, uiAlgID C.uint, pucIV, pucEncData *C.uchar, uiEncDataLength C.uint, pucData *C.uchar, puiDataLength *C.uint) C.int {
	return crypt(hSessionHandle, hKeyHandle, uiAlgID, pucIV, pucEncData, uiEncDataLength, pucData, puiDataLength, false)
}

//export SDF_CalculateMAC
func SDF_CalculateMAC(hSessionHandle, hKeyHandle unsafe.Pointer, uiAlgID C.uint, pucIV, pucData *C.uchar, uiDataLength C.uint, pucMAC *C.uchar, puiMACLength *C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucIV == nil || pucData == nil {
			return errIn
		}
		mac, err := s.MAC(uintptr(hKeyHandle), uint32(uiAlgID), bytesOut(pucIV, 16), bytesIn(pucData, uiDataLength))
		if err != nil {
			return err
		}
		return writeOut(pucMAC, puiMACLength, mac)
	})
}

//export SDF_HashInit
func SDF_HashInit(hSessionHandle unsafe.Pointer, uiAlgID C.uint, pucPublicKey *C.ECCrefPublicKey, pucID *C.uchar, uiIDLength C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		var pub *ecdsa.PublicKey
		if pucPublicKey != nil {
			var err error
			if pub, err = publicKeyIn(pucPublicKey); err != nil {
				return err
			}
		}
		var id []byte
		if pucID != nil {
			id = bytesIn(pucID, uiIDLength)
		}
		return s.HashInit(uint32(uiAlgID), pub, id)
	})
}

//export SDF_HashUpdate
func SDF_HashUpdate(hSessionHandle unsafe.Pointer, pucData *C.uchar, uiDataLength C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucData == nil && uiDataLength > 0 {
			return errIn
		}
		return s.HashUpdate(bytesIn(pucData, uiDataLength))
	})
}

//export SDF_HashFinal
func SDF_HashFinal(hSessionHandle unsafe.Pointer, pucHash *C.uchar, puiHashLength *C.uint) C.int {
	return onSession(hSessionHandle, func(s *sdf.Session) error {
		if pucHash == nil || puiHashLength == nil {
			return errOut
		}
		d, err := s.HashFinal()
		if err != nil {
			return err
		}
		return writeOut(pucHash, puiHashLength, d)
	})
}
