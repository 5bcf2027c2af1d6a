/* The platform macros pkcs11.h asks for (Unix: no packing, plain
 * pointers), then the OASIS PKCS#11 v2.40 headers as vendored by
 * github.com/miekg/pkcs11, and the vendor values libmimapkcs11 uses
 * (docs/sdf.md, "PKCS#11"). */
#ifndef MIMA_PKCS11_PLATFORM_H
#define MIMA_PKCS11_PLATFORM_H
#define CK_PTR *
#define CK_DEFINE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION(returnType, name) returnType name
#define CK_DECLARE_FUNCTION_POINTER(returnType, name) returnType (*name)
#define CK_CALLBACK_FUNCTION(returnType, name) returnType (*name)
#ifndef NULL_PTR
#define NULL_PTR 0
#endif
#include "pkcs11.h"

/* SM2/SM3/SM4 as Sansec's swpkcs11.h numbers them (Koal's module uses the
 * same SM2 values and key type). */
#define CKK_SM2 (CKK_VENDOR_DEFINED + 0x00000004)
#define CKK_SM4 (CKK_VENDOR_DEFINED + 0x00000106)
#define CKM_SM2_KEY_PAIR_GEN (CKM_VENDOR_DEFINED + 0x00008001)
#define CKM_SM3_SM2 (CKM_VENDOR_DEFINED + 0x00008100)
#define CKM_SM3_SM2_DER (CKM_VENDOR_DEFINED + 0x00008101)
#define CKM_SM2_SIGN (CKM_VENDOR_DEFINED + 0x00008104)
#define CKM_SM2_SIGN_NO_DER (CKM_VENDOR_DEFINED + 0x00008105)
#define CKM_SM2_RAW (CKM_VENDOR_DEFINED + 0x00008200)
#define CKM_SM2_CIPHER_DER (CKM_VENDOR_DEFINED + 0x00008201)
#define CKM_SM3_HASH (CKM_VENDOR_DEFINED + 0x00009001)
/* SM4 on session keys, in the module */
#define CKM_SM4_KEY_GEN (CKM_VENDOR_DEFINED + 0x00000107)
#define CKM_SM4_ECB (CKM_VENDOR_DEFINED + 0x00000108)
#define CKM_SM4_CBC (CKM_VENDOR_DEFINED + 0x00000109)
#define CKM_SM4_CBC_PAD (CKM_VENDOR_DEFINED + 0x0000A201)

/* mima's own value, no vendor's: SM4-GCM on the server with an sm4 key,
 * the ciphertext mima's string "mima:v<N>:<base64>"; the parameter, if
 * any, is the AAD. */
#define CKM_MIMA_SM4_ENVELOPE (CKM_VENDOR_DEFINED + 0x4D490001)
#endif
