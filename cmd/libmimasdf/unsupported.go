package main

/*
#include "sdf.h"
*/
import "C"

import (
	"unsafe"

	"github.com/mimacrypto/mima/internal/sdf"
)

// The functions below answer SDR_NOTSUPPORT (docs/sdf.md says why): mima
// has no RSA keys, no SM2 key agreement endpoint and keeps no files for
// applications.

var notSupported = C.int(sdf.NotSupport)

//export SDF_ExportSignPublicKey_RSA
func SDF_ExportSignPublicKey_RSA(unsafe.Pointer, C.uint, *C.RSArefPublicKey) C.int {
	return notSupported
}

//export SDF_ExportEncPublicKey_RSA
func SDF_ExportEncPublicKey_RSA(unsafe.Pointer, C.uint, *C.RSArefPublicKey) C.int {
	return notSupported
}

//export SDF_GenerateKeyPair_RSA
func SDF_GenerateKeyPair_RSA(unsafe.Pointer, C.uint, *C.RSArefPublicKey, *C.RSArefPrivateKey) C.int {
	return notSupported
}

//export SDF_GenerateKeyWithIPK_RSA
func SDF_GenerateKeyWithIPK_RSA(unsafe.Pointer, C.uint, C.uint, *C.uchar, *C.uint, *unsafe.Pointer) C.int {
	return notSupported
}

//export SDF_GenerateKeyWithEPK_RSA
func SDF_GenerateKeyWithEPK_RSA(unsafe.Pointer, C.uint, *C.RSArefPublicKey, *C.uchar, *C.uint, *unsafe.Pointer) C.int {
	return notSupported
}

//export SDF_ImportKeyWithISK_RSA
func SDF_ImportKeyWithISK_RSA(unsafe.Pointer, C.uint, *C.uchar, C.uint, *unsafe.Pointer) C.int {
	return notSupported
}

//export SDF_ExchangeDigitEnvelopeBaseOnRSA
func SDF_ExchangeDigitEnvelopeBaseOnRSA(unsafe.Pointer, C.uint, *C.RSArefPublicKey, *C.uchar, C.uint, *C.uchar, *C.uint) C.int {
	return notSupported
}

//export SDF_ExternalPublicKeyOperation_RSA
func SDF_ExternalPublicKeyOperation_RSA(unsafe.Pointer, *C.RSArefPublicKey, *C.uchar, C.uint, *C.uchar, *C.uint) C.int {
	return notSupported
}

//export SDF_InternalPublicKeyOperation_RSA
func SDF_InternalPublicKeyOperation_RSA(unsafe.Pointer, C.uint, *C.uchar, C.uint, *C.uchar, *C.uint) C.int {
	return notSupported
}

//export SDF_InternalPrivateKeyOperation_RSA
func SDF_InternalPrivateKeyOperation_RSA(unsafe.Pointer, C.uint, *C.uchar, C.uint, *C.uchar, *C.uint) C.int {
	return notSupported
}

//export SDF_GenerateAgreementDataWithECC
func SDF_GenerateAgreementDataWithECC(unsafe.Pointer, C.uint, C.uint, *C.uchar, C.uint, *C.ECCrefPublicKey, *C.ECCrefPublicKey, *unsafe.Pointer) C.int {
	return notSupported
}

//export SDF_GenerateKeyWithECC
func SDF_GenerateKeyWithECC(unsafe.Pointer, *C.uchar, C.uint, *C.ECCrefPublicKey, *C.ECCrefPublicKey, unsafe.Pointer, *unsafe.Pointer) C.int {
	return notSupported
}

//export SDF_GenerateAgreementDataAndKeyWithECC
func SDF_GenerateAgreementDataAndKeyWithECC(unsafe.Pointer, C.uint, C.uint, *C.uchar, C.uint, *C.uchar, C.uint, *C.ECCrefPublicKey, *C.ECCrefPublicKey, *C.ECCrefPublicKey, *C.ECCrefPublicKey, *unsafe.Pointer) C.int {
	return notSupported
}

//export SDF_CreateFile
func SDF_CreateFile(unsafe.Pointer, *C.uchar, C.uint, C.uint) C.int { return notSupported }

//export SDF_ReadFile
func SDF_ReadFile(unsafe.Pointer, *C.uchar, C.uint, C.uint, *C.uint, *C.uchar) C.int {
	return notSupported
}

//export SDF_WriteFile
func SDF_WriteFile(unsafe.Pointer, *C.uchar, C.uint, C.uint, C.uint, *C.uchar) C.int {
	return notSupported
}

//export SDF_DeleteFile
func SDF_DeleteFile(unsafe.Pointer, *C.uchar, C.uint) C.int { return notSupported }
