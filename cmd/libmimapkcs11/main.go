// Command libmimapkcs11 is the PKCS#11 v2.40 module over mima, built with
// -buildmode=c-shared into libmimapkcs11.so (scripts/build-sdf). module.c
// holds the C entry points and the function list; this file converts
// PKCS#11's C structures for internal/p11, which does the work.
// docs/sdf.md ("PKCS#11") is the manual.
package main

/*
#include <stdlib.h>
#include "platform.h"
*/
import "C"

import (
	"context"
	"math"
	"unsafe"

	"github.com/mimacrypto/mima/internal/p11"
)

func main() {}

// call runs f and returns its return value; a panic is
// CKR_GENERAL_ERROR, never a crash of the caller.
func call(f func() error) (rv C.CK_RV) {
	defer func() {
		if recover() != nil {
			rv = C.CKR_GENERAL_ERROR
		}
	}()
	return C.CK_RV(p11.RVOf(f()))
}

var errArgs = &p11.Error{RV: p11.ArgumentsBad, Err: errNil{}}

type errNil struct{}

func (errNil) Error() string { return "a pointer is NULL" }

// withModule runs f on the initialized module.
func withModule(f func(m *p11.Module) error) C.CK_RV {
	return call(func() error {
		m, err := p11.Current()
		if err != nil {
			return err
		}
		return f(m)
	})
}

// withSession runs f on session h.
func withSession(h C.CK_SESSION_HANDLE, f func(m *p11.Module, s *p11.Session) error) C.CK_RV {
	return withModule(func(m *p11.Module) error {
		s, err := m.Session(uint(h))
		if err != nil {
			return err
		}
		return f(m, s)
	})
}

// withSlot runs f on slot id.
func withSlot(id C.CK_SLOT_ID, f func(s *p11.Slot) error) C.CK_RV {
	return withModule(func(m *p11.Module) error {
		s, err := m.Slot(uint(id))
		if err != nil {
			return err
		}
		return f(s)
	})
}

// listOut is the PKCS#11 two-call convention for a list of n items: it
// sets *count to n and, when p is not NULL and has room, fills it.
func listOut[T any](p *T, count C.CK_ULONG_PTR, n int, fill func(out []T)) error {
	if count == nil {
		return errArgs
	}
	room := *count
	*count = C.CK_ULONG(n)
	if p == nil {
		return nil
	}
	if room < C.CK_ULONG(n) {
		return &p11.Error{RV: p11.BufferTooSmall, Err: errNil{}}
	}
	fill(unsafe.Slice(p, n))
	return nil
}

// bytesIn is the C buffer p of n bytes, without copying.
func bytesIn(p C.CK_BYTE_PTR, n C.CK_ULONG) []byte {
	if p == nil || n == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(p)), int(n))
}

// pad fills a blank-padded text field of PKCS#11's structures.
func pad(dst []C.CK_UTF8CHAR, s string) {
	for i := range dst {
		dst[i] = ' '
		if i < len(s) {
			dst[i] = C.CK_UTF8CHAR(s[i])
		}
	}
}

// output answers a call that writes b to p of room *n: NULL p asks for the
// length, too small a room gets CKR_BUFFER_TOO_SMALL; done is called when
// b was written.
func output(p C.CK_BYTE_PTR, n C.CK_ULONG_PTR, b []byte, done func()) error {
	if n == nil {
		done()
		return errArgs
	}
	need := *n
	*n = C.CK_ULONG(len(b))
	if p == nil {
		return nil
	}
	if need < C.CK_ULONG(len(b)) {
		return &p11.Error{RV: p11.BufferTooSmall, Err: errNil{}}
	}
	copy(unsafe.Slice((*byte)(unsafe.Pointer(p)), len(b)), b)
	done()
	return nil
}

// template reads n attributes at p.
func template(p C.CK_ATTRIBUTE_PTR, n C.CK_ULONG) ([]p11.Attribute, error) {
	if n == 0 {
		return nil, nil
	}
	if p == nil {
		return nil, errArgs
	}
	var out []p11.Attribute
	for _, a := range unsafe.Slice(p, int(n)) {
		v := append([]byte(nil), bytesIn(C.CK_BYTE_PTR(a.pValue), a.ulValueLen)...)
		out = append(out, p11.Attribute{Type: uint(a._type), Value: v})
	}
	return out, nil
}

//export mima_Initialize
func mima_Initialize(pInitArgs C.CK_VOID_PTR) C.CK_RV {
	return call(p11.Initialize)
}

//export mima_Finalize
func mima_Finalize(pReserved C.CK_VOID_PTR) C.CK_RV {
	return call(func() error {
		if pReserved != nil {
			return errArgs
		}
		return p11.Finalize()
	})
}

//export mima_GetInfo
func mima_GetInfo(pInfo C.CK_INFO_PTR) C.CK_RV {
	return withModule(func(*p11.Module) error {
		if pInfo == nil {
			return errArgs
		}
		*pInfo = C.CK_INFO{cryptokiVersion: C.CK_VERSION{major: 2, minor: 40}, libraryVersion: C.CK_VERSION{major: 1}}
		pad(pInfo.manufacturerID[:], "mima")
		pad(pInfo.libraryDescription[:], "mima PKCS#11 module")
		return nil
	})
}

//export mima_GetSlotList
func mima_GetSlotList(tokenPresent C.CK_BBOOL, pSlotList C.CK_SLOT_ID_PTR, pulCount C.CK_ULONG_PTR) C.CK_RV {
	return withModule(func(m *p11.Module) error {
		slots := m.Slots()
		return listOut(pSlotList, pulCount, len(slots), func(out []C.CK_SLOT_ID) {
			for i, s := range slots {
				out[i] = C.CK_SLOT_ID(s.ID)
			}
		})
	})
}

//export mima_GetSlotInfo
func mima_GetSlotInfo(slotID C.CK_SLOT_ID, pInfo C.CK_SLOT_INFO_PTR) C.CK_RV {
	return withSlot(slotID, func(s *p11.Slot) error {
		if pInfo == nil {
			return errArgs
		}
		*pInfo = C.CK_SLOT_INFO{flags: C.CKF_TOKEN_PRESENT}
		pad(pInfo.slotDescription[:], "mima tenant "+s.Tenant)
		pad(pInfo.manufacturerID[:], "mima")
		return nil
	})
}

//export mima_GetTokenInfo
func mima_GetTokenInfo(slotID C.CK_SLOT_ID, pInfo C.CK_TOKEN_INFO_PTR) C.CK_RV {
	return withSlot(slotID, func(s *p11.Slot) error {
		if pInfo == nil {
			return errArgs
		}
		*pInfo = C.CK_TOKEN_INFO{
			flags:             C.CKF_RNG | C.CKF_LOGIN_REQUIRED | C.CKF_USER_PIN_INITIALIZED | C.CKF_TOKEN_INITIALIZED,
			ulMaxSessionCount: C.CK_EFFECTIVELY_INFINITE, ulMaxRwSessionCount: C.CK_EFFECTIVELY_INFINITE,
			ulSessionCount: C.CK_UNAVAILABLE_INFORMATION, ulRwSessionCount: C.CK_UNAVAILABLE_INFORMATION,
			ulMaxPinLen: 4096, ulMinPinLen: 1,
			ulTotalPublicMemory: C.CK_UNAVAILABLE_INFORMATION, ulFreePublicMemory: C.CK_UNAVAILABLE_INFORMATION,
			ulTotalPrivateMemory: C.CK_UNAVAILABLE_INFORMATION, ulFreePrivateMemory: C.CK_UNAVAILABLE_INFORMATION,
			hardwareVersion: C.CK_VERSION{major: 1}, firmwareVersion: C.CK_VERSION{major: 1},
		}
		pad(pInfo.label[:], s.Tenant)
		pad(pInfo.manufacturerID[:], "mima")
		pad(pInfo.model[:], "mima")
		pad(pInfo.serialNumber[:], s.Tenant)
		pad(pInfo.utcTime[:], "")
		return nil
	})
}

//export mima_GetMechanismList
func mima_GetMechanismList(slotID C.CK_SLOT_ID, pMechanismList C.CK_MECHANISM_TYPE_PTR, pulCount C.CK_ULONG_PTR) C.CK_RV {
	return withSlot(slotID, func(*p11.Slot) error {
		return listOut(pMechanismList, pulCount, len(p11.Mechanisms), func(out []C.CK_MECHANISM_TYPE) {
			for i, mech := range p11.Mechanisms {
				out[i] = C.CK_MECHANISM_TYPE(mech.Type)
			}
		})
	})
}

//export mima_GetMechanismInfo
func mima_GetMechanismInfo(slotID C.CK_SLOT_ID, typ C.CK_MECHANISM_TYPE, pInfo C.CK_MECHANISM_INFO_PTR) C.CK_RV {
	return withSlot(slotID, func(*p11.Slot) error {
		if pInfo == nil {
			return errArgs
		}
		for _, mech := range p11.Mechanisms {
			if mech.Type == uint(typ) {
				*pInfo = C.CK_MECHANISM_INFO{ulMinKeySize: C.CK_ULONG(mech.Bits), ulMaxKeySize: C.CK_ULONG(mech.Bits), flags: C.CK_FLAGS(mech.Flags)}
				return nil
			}
		}
		return &p11.Error{RV: p11.MechanismInvalid, Err: errNil{}}
	})
}

//export mima_OpenSession
func mima_OpenSession(slotID C.CK_SLOT_ID, flags C.CK_FLAGS, pApplication C.CK_VOID_PTR, notify C.CK_NOTIFY, phSession C.CK_SESSION_HANDLE_PTR) C.CK_RV {
	return withModule(func(m *p11.Module) error {
		if phSession == nil {
			return errArgs
		}
		if flags&C.CKF_SERIAL_SESSION == 0 {
			return &p11.Error{RV: p11.SessionParallelNotSupp, Err: errNil{}}
		}
		h, err := m.OpenSession(uint(slotID), flags&C.CKF_RW_SESSION != 0)
		if err == nil {
			*phSession = C.CK_SESSION_HANDLE(h)
		}
		return err
	})
}

//export mima_CloseSession
func mima_CloseSession(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return withModule(func(m *p11.Module) error { return m.CloseSession(uint(hSession)) })
}

//export mima_CloseAllSessions
func mima_CloseAllSessions(slotID C.CK_SLOT_ID) C.CK_RV {
	return withModule(func(m *p11.Module) error { return m.CloseAll(uint(slotID)) })
}

//export mima_GetSessionInfo
func mima_GetSessionInfo(hSession C.CK_SESSION_HANDLE, pInfo C.CK_SESSION_INFO_PTR) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error {
		if pInfo == nil {
			return errArgs
		}
		state, flags := C.CK_STATE(C.CKS_RO_PUBLIC_SESSION), C.CK_FLAGS(C.CKF_SERIAL_SESSION)
		if s.RW {
			state, flags = C.CKS_RW_PUBLIC_SESSION, flags|C.CKF_RW_SESSION
		}
		if s.Slot.LoggedIn() {
			state++ // CKS_R?_USER_FUNCTIONS follows CKS_R?_PUBLIC_SESSION
		}
		*pInfo = C.CK_SESSION_INFO{slotID: C.CK_SLOT_ID(s.Slot.ID), state: state, flags: flags}
		return nil
	})
}

//export mima_Login
func mima_Login(hSession C.CK_SESSION_HANDLE, userType C.CK_USER_TYPE, pPin C.CK_UTF8CHAR_PTR, ulPinLen C.CK_ULONG) C.CK_RV {
	return withSession(hSession, func(m *p11.Module, s *p11.Session) error {
		if pPin == nil || ulPinLen == 0 {
			return &p11.Error{RV: p11.PinIncorrect, Err: errNil{}}
		}
		return m.Login(context.Background(), s, uint(userType), string(bytesIn(C.CK_BYTE_PTR(pPin), ulPinLen)))
	})
}

//export mima_Logout
func mima_Logout(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return withSession(hSession, func(m *p11.Module, s *p11.Session) error { return m.Logout(s) })
}

//export mima_FindObjectsInit
func mima_FindObjectsInit(hSession C.CK_SESSION_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error {
		t, err := template(pTemplate, ulCount)
		if err != nil {
			return err
		}
		return s.FindInit(context.Background(), t)
	})
}

//export mima_FindObjects
func mima_FindObjects(hSession C.CK_SESSION_HANDLE, phObject C.CK_OBJECT_HANDLE_PTR, ulMaxObjectCount C.CK_ULONG, pulObjectCount C.CK_ULONG_PTR) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error {
		if pulObjectCount == nil || (phObject == nil && ulMaxObjectCount > 0) {
			return errArgs
		}
		hs, err := s.Find(int(ulMaxObjectCount))
		if err != nil {
			return err
		}
		if len(hs) > 0 {
			out := unsafe.Slice(phObject, len(hs))
			for i, h := range hs {
				out[i] = C.CK_OBJECT_HANDLE(h)
			}
		}
		*pulObjectCount = C.CK_ULONG(len(hs))
		return nil
	})
}

//export mima_FindObjectsFinal
func mima_FindObjectsFinal(hSession C.CK_SESSION_HANDLE) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error { return s.FindFinal() })
}

// mima_GetAttributeValue answers every attribute of the template; the
// last failure (CKR_ATTRIBUTE_SENSITIVE, CKR_ATTRIBUTE_TYPE_INVALID,
// CKR_BUFFER_TOO_SMALL) is the return value, as PKCS#11 says.
//
//export mima_GetAttributeValue
func mima_GetAttributeValue(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error {
		o, err := s.Slot.Object(uint(hObject))
		if err != nil {
			return err
		}
		if pTemplate == nil && ulCount > 0 {
			return errArgs
		}
		var last error
		for i := range unsafe.Slice(pTemplate, int(ulCount)) {
			a := &unsafe.Slice(pTemplate, int(ulCount))[i]
			v, err := o.Attr(context.Background(), uint(a._type))
			switch rv := p11.RVOf(err); {
			case rv == p11.AttributeSensitive || rv == p11.AttributeTypeInvalid:
				a.ulValueLen, last = C.CK_UNAVAILABLE_INFORMATION, err
			case err != nil:
				return err
			case a.pValue == nil:
				a.ulValueLen = C.CK_ULONG(len(v))
			case a.ulValueLen < C.CK_ULONG(len(v)):
				a.ulValueLen, last = C.CK_UNAVAILABLE_INFORMATION, &p11.Error{RV: p11.BufferTooSmall, Err: errNil{}}
			default:
				copy(unsafe.Slice((*byte)(a.pValue), len(v)), v)
				a.ulValueLen = C.CK_ULONG(len(v))
			}
		}
		return last
	})
}

// withMechanism runs init on session h with the mechanism of p: its type
// and its parameter.
func withMechanism(h C.CK_SESSION_HANDLE, p C.CK_MECHANISM_PTR, init func(s *p11.Session, mech uint, param []byte) error) C.CK_RV {
	return withSession(h, func(_ *p11.Module, s *p11.Session) error {
		if p == nil {
			return errArgs
		}
		return init(s, uint(p.mechanism), bytesIn(C.CK_BYTE_PTR(p.pParameter), p.ulParameterLen))
	})
}

// onePart answers a call of session h that takes ulDataLen bytes at
// pData and returns bytes with the length convention (C_Sign, C_Digest,
// C_Encrypt, C_Decrypt); a NULL pointer ends the operation.
func onePart(h C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pOut C.CK_BYTE_PTR, pulOut C.CK_ULONG_PTR, f func(s *p11.Session, data []byte) ([]byte, error)) C.CK_RV {
	return withSession(h, func(_ *p11.Module, s *p11.Session) error {
		if pData == nil && ulDataLen > 0 {
			s.End()
			return errArgs
		}
		out, err := f(s, bytesIn(pData, ulDataLen))
		if err != nil {
			return err
		}
		return output(pOut, pulOut, out, s.End)
	})
}

// part answers a C_*Update of session h with ulPartLen bytes at pPart.
func part(h C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, f func(s *p11.Session, part []byte) error) C.CK_RV {
	return withSession(h, func(_ *p11.Module, s *p11.Session) error {
		if pPart == nil && ulPartLen > 0 {
			s.End()
			return errArgs
		}
		return f(s, bytesIn(pPart, ulPartLen))
	})
}

// updateOut answers a C_EncryptUpdate or C_DecryptUpdate of session h
// with the length convention: a NULL pOut asks for the length of the
// part's output and, like too small a buffer, consumes nothing.
func updateOut(h C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, pOut C.CK_BYTE_PTR, pulOut C.CK_ULONG_PTR, f func(s *p11.Session, part []byte, room int) (int, []byte, error)) C.CK_RV {
	return part(h, pPart, ulPartLen, func(s *p11.Session, part []byte) error {
		if pulOut == nil {
			s.End()
			return errArgs
		}
		room := -1
		if pOut != nil {
			room = int(min(*pulOut, C.CK_ULONG(math.MaxInt32)))
		}
		need, out, err := f(s, part, room)
		if err != nil && p11.RVOf(err) != p11.BufferTooSmall {
			return err
		}
		*pulOut = C.CK_ULONG(need)
		if len(out) > 0 {
			copy(unsafe.Slice((*byte)(unsafe.Pointer(pOut)), len(out)), out)
			clear(out)
		}
		return err
	})
}

// final answers a C_*Final of session h that returns bytes with the
// length convention.
func final(h C.CK_SESSION_HANDLE, pOut C.CK_BYTE_PTR, pulOut C.CK_ULONG_PTR, f func(s *p11.Session) ([]byte, error)) C.CK_RV {
	return withSession(h, func(_ *p11.Module, s *p11.Session) error {
		out, err := f(s)
		if err != nil {
			return err
		}
		return output(pOut, pulOut, out, s.End)
	})
}

//export mima_SignInit
func mima_SignInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, _ []byte) error {
		return s.SignInit(mech, uint(hKey))
	})
}

//export mima_Sign
func mima_Sign(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	return onePart(hSession, pData, ulDataLen, pSignature, pulSignatureLen, func(s *p11.Session, data []byte) ([]byte, error) {
		return s.Sign(context.Background(), data)
	})
}

//export mima_SignUpdate
func mima_SignUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	return part(hSession, pPart, ulPartLen, func(s *p11.Session, part []byte) error {
		return s.SignUpdate(context.Background(), part)
	})
}

//export mima_SignFinal
func mima_SignFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, pulSignatureLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pSignature, pulSignatureLen, func(s *p11.Session) ([]byte, error) {
		return s.SignFinal(context.Background())
	})
}

//export mima_VerifyInit
func mima_VerifyInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, _ []byte) error {
		return s.VerifyInit(mech, uint(hKey))
	})
}

//export mima_Verify
func mima_Verify(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error {
		if (pData == nil && ulDataLen > 0) || (pSignature == nil && ulSignatureLen > 0) {
			s.End()
			return errArgs
		}
		return s.Verify(context.Background(), bytesIn(pData, ulDataLen), bytesIn(pSignature, ulSignatureLen))
	})
}

//export mima_VerifyUpdate
func mima_VerifyUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	return part(hSession, pPart, ulPartLen, func(s *p11.Session, part []byte) error {
		return s.VerifyUpdate(context.Background(), part)
	})
}

//export mima_VerifyFinal
func mima_VerifyFinal(hSession C.CK_SESSION_HANDLE, pSignature C.CK_BYTE_PTR, ulSignatureLen C.CK_ULONG) C.CK_RV {
	return part(hSession, pSignature, ulSignatureLen, func(s *p11.Session, sig []byte) error {
		return s.VerifyFinal(context.Background(), sig)
	})
}

//export mima_DigestInit
func mima_DigestInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, _ []byte) error {
		return s.DigestInit(mech)
	})
}

//export mima_Digest
func mima_Digest(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) C.CK_RV {
	return onePart(hSession, pData, ulDataLen, pDigest, pulDigestLen, func(s *p11.Session, data []byte) ([]byte, error) {
		return s.Digest(data)
	})
}

//export mima_DigestUpdate
func mima_DigestUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG) C.CK_RV {
	return part(hSession, pPart, ulPartLen, (*p11.Session).DigestUpdate)
}

//export mima_DigestFinal
func mima_DigestFinal(hSession C.CK_SESSION_HANDLE, pDigest C.CK_BYTE_PTR, pulDigestLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pDigest, pulDigestLen, (*p11.Session).DigestFinal)
}

//export mima_EncryptInit
func mima_EncryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, param []byte) error {
		return s.EncryptInit(mech, uint(hKey), param)
	})
}

//export mima_Encrypt
func mima_Encrypt(hSession C.CK_SESSION_HANDLE, pData C.CK_BYTE_PTR, ulDataLen C.CK_ULONG, pEncryptedData C.CK_BYTE_PTR, pulEncryptedDataLen C.CK_ULONG_PTR) C.CK_RV {
	return onePart(hSession, pData, ulDataLen, pEncryptedData, pulEncryptedDataLen, func(s *p11.Session, data []byte) ([]byte, error) {
		return s.Encrypt(context.Background(), data)
	})
}

//export mima_EncryptUpdate
func mima_EncryptUpdate(hSession C.CK_SESSION_HANDLE, pPart C.CK_BYTE_PTR, ulPartLen C.CK_ULONG, pEncryptedPart C.CK_BYTE_PTR, pulEncryptedPartLen C.CK_ULONG_PTR) C.CK_RV {
	return updateOut(hSession, pPart, ulPartLen, pEncryptedPart, pulEncryptedPartLen, (*p11.Session).EncryptUpdate)
}

//export mima_EncryptFinal
func mima_EncryptFinal(hSession C.CK_SESSION_HANDLE, pLastEncryptedPart C.CK_BYTE_PTR, pulLastEncryptedPartLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pLastEncryptedPart, pulLastEncryptedPartLen, func(s *p11.Session) ([]byte, error) {
		return s.EncryptFinal(context.Background())
	})
}

//export mima_DecryptInit
func mima_DecryptInit(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hKey C.CK_OBJECT_HANDLE) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, param []byte) error {
		return s.DecryptInit(mech, uint(hKey), param)
	})
}

//export mima_Decrypt
func mima_Decrypt(hSession C.CK_SESSION_HANDLE, pEncryptedData C.CK_BYTE_PTR, ulEncryptedDataLen C.CK_ULONG, pData C.CK_BYTE_PTR, pulDataLen C.CK_ULONG_PTR) C.CK_RV {
	return onePart(hSession, pEncryptedData, ulEncryptedDataLen, pData, pulDataLen, func(s *p11.Session, data []byte) ([]byte, error) {
		return s.Decrypt(context.Background(), data)
	})
}

//export mima_DecryptUpdate
func mima_DecryptUpdate(hSession C.CK_SESSION_HANDLE, pEncryptedPart C.CK_BYTE_PTR, ulEncryptedPartLen C.CK_ULONG, pPart C.CK_BYTE_PTR, pulPartLen C.CK_ULONG_PTR) C.CK_RV {
	return updateOut(hSession, pEncryptedPart, ulEncryptedPartLen, pPart, pulPartLen, (*p11.Session).DecryptUpdate)
}

//export mima_DecryptFinal
func mima_DecryptFinal(hSession C.CK_SESSION_HANDLE, pLastPart C.CK_BYTE_PTR, pulLastPartLen C.CK_ULONG_PTR) C.CK_RV {
	return final(hSession, pLastPart, pulLastPartLen, func(s *p11.Session) ([]byte, error) {
		return s.DecryptFinal(context.Background())
	})
}

//export mima_GenerateKeyPair
func mima_GenerateKeyPair(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, pPublicKeyTemplate C.CK_ATTRIBUTE_PTR, ulPublicKeyAttributeCount C.CK_ULONG, pPrivateKeyTemplate C.CK_ATTRIBUTE_PTR, ulPrivateKeyAttributeCount C.CK_ULONG, phPublicKey, phPrivateKey C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, _ []byte) error {
		pub, err := template(pPublicKeyTemplate, ulPublicKeyAttributeCount)
		if err != nil {
			return err
		}
		priv, err := template(pPrivateKeyTemplate, ulPrivateKeyAttributeCount)
		if err != nil {
			return err
		}
		if phPublicKey == nil || phPrivateKey == nil {
			return errArgs
		}
		hPub, hPriv, err := s.GenerateKeyPair(context.Background(), mech, pub, priv)
		if err == nil {
			*phPublicKey, *phPrivateKey = C.CK_OBJECT_HANDLE(hPub), C.CK_OBJECT_HANDLE(hPriv)
		}
		return err
	})
}

//export mima_GenerateRandom
func mima_GenerateRandom(hSession C.CK_SESSION_HANDLE, pRandomData C.CK_BYTE_PTR, ulRandomLen C.CK_ULONG) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error {
		if pRandomData == nil && ulRandomLen > 0 {
			return errArgs
		}
		if ulRandomLen == 0 {
			return nil
		}
		return s.Random(context.Background(), unsafe.Slice((*byte)(unsafe.Pointer(pRandomData)), int(ulRandomLen)))
	})
}

//export mima_GenerateKey
func mima_GenerateKey(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, pTemplate C.CK_ATTRIBUTE_PTR, ulCount C.CK_ULONG, phKey C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, param []byte) error {
		t, err := template(pTemplate, ulCount)
		if err != nil {
			return err
		}
		if phKey == nil {
			return errArgs
		}
		h, err := s.GenerateKey(context.Background(), mech, param, t)
		if err == nil {
			*phKey = C.CK_OBJECT_HANDLE(h)
		}
		return err
	})
}

// mima_WrapKey answers a NULL pWrappedKey, and too small a buffer, with
// the most bytes the wrapped key takes.
//
//export mima_WrapKey
func mima_WrapKey(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hWrappingKey, hKey C.CK_OBJECT_HANDLE, pWrappedKey C.CK_BYTE_PTR, pulWrappedKeyLen C.CK_ULONG_PTR) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, param []byte) error {
		if pulWrappedKeyLen == nil {
			return errArgs
		}
		wrapped, most, err := s.WrapKey(context.Background(), mech, param, uint(hWrappingKey), uint(hKey))
		switch {
		case err != nil:
			return err
		case pWrappedKey == nil:
			*pulWrappedKeyLen = C.CK_ULONG(most)
			return nil
		case *pulWrappedKeyLen < C.CK_ULONG(len(wrapped)):
			*pulWrappedKeyLen = C.CK_ULONG(most)
			return &p11.Error{RV: p11.BufferTooSmall, Err: errNil{}}
		}
		copy(unsafe.Slice((*byte)(unsafe.Pointer(pWrappedKey)), len(wrapped)), wrapped)
		*pulWrappedKeyLen = C.CK_ULONG(len(wrapped))
		return nil
	})
}

//export mima_UnwrapKey
func mima_UnwrapKey(hSession C.CK_SESSION_HANDLE, pMechanism C.CK_MECHANISM_PTR, hUnwrappingKey C.CK_OBJECT_HANDLE, pWrappedKey C.CK_BYTE_PTR, ulWrappedKeyLen C.CK_ULONG, pTemplate C.CK_ATTRIBUTE_PTR, ulAttributeCount C.CK_ULONG, phKey C.CK_OBJECT_HANDLE_PTR) C.CK_RV {
	return withMechanism(hSession, pMechanism, func(s *p11.Session, mech uint, param []byte) error {
		t, err := template(pTemplate, ulAttributeCount)
		if err != nil {
			return err
		}
		if phKey == nil || pWrappedKey == nil || ulWrappedKeyLen == 0 {
			return errArgs
		}
		h, err := s.UnwrapKey(context.Background(), mech, param, uint(hUnwrappingKey), bytesIn(pWrappedKey, ulWrappedKeyLen), t)
		if err == nil {
			*phKey = C.CK_OBJECT_HANDLE(h)
		}
		return err
	})
}

//export mima_DestroyObject
func mima_DestroyObject(hSession C.CK_SESSION_HANDLE, hObject C.CK_OBJECT_HANDLE) C.CK_RV {
	return withSession(hSession, func(_ *p11.Module, s *p11.Session) error { return s.DestroyObject(uint(hObject)) })
}
