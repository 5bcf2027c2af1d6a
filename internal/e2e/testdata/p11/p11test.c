/*
 * p11test: loads libmimapkcs11 with dlopen and C_GetFunctionList, runs
 * every implemented function of its function list against a mima dev
 * server with good and bad arguments, and checks the return values
 * (internal/e2e/pkcs11_test.go, TestPKCS11C).
 *
 *   p11test MODULE all       every function: bad handles, NULL pointers,
 *                            wrong order, length queries, too small buffers
 *   p11test MODULE revoked   logs in, prints "ready", waits for a line on
 *                            stdin (the token is revoked meanwhile):
 *                            CKR_USER_NOT_LOGGED_IN, a new login
 *                            CKR_PIN_INCORRECT
 *   p11test MODULE sealed    the same, the server sealed: CKR_DEVICE_ERROR
 *   p11test MODULE loop N    N mixed calls from 8 threads, one session each
 *   p11test MODULE interop DIR
 *                            decrypts DIR/api-sm4.ct (made by mima's API)
 *                            and DIR/openssl-sm2.der (OpenSSL) into *.pt;
 *                            encrypts DIR/msg into p11-sm4.ct, p11-sm2.der
 *                            and p11-sm2.raw and signs it in parts into
 *                            p11.sig, for the Go test to check;
 *                            unwraps DIR/openssl-sm4.key.der (SM2 DER)
 *                            and decrypts openssl-sm4.ct (SM4-CBC with
 *                            PKCS#7, IV openssl-sm4.iv) into
 *                            openssl-sm4.pt; writes a session key's
 *                            value, IV and CBC_PAD encryption of msg
 *                            into p11-sm4.key, p11-sm4.iv, p11-sm4cbc.ct
 *
 * MIMA_SDF_CONFIG names slots 0 (tenant default) and 1 (acme); in tenant
 * default, keys p11-sign (with a certificate from the CA p11-ca, whose own
 * key is an sm2 key of the tenant too) and p11-enc are sm2, p11-kek sm4;
 * MIMA_P11_PIN is a token of tenant default that may use every key. Mode
 * all creates the sm2 key p11-gen with C_GenerateKeyPair.
 */
#define _GNU_SOURCE /* memmem */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"

static int failures;
static CK_FUNCTION_LIST_PTR f;
static CK_UTF8CHAR_PTR pin;
static CK_ULONG pinlen;

#define EXPECT(call, want)                                                        \
	do {                                                                          \
		CK_RV rv_ = (call);                                                       \
		if (rv_ != (CK_RV)(want)) {                                               \
			fprintf(stderr, "%s:%d: %s = 0x%08lX, want 0x%08lX\n", __FILE__, __LINE__, \
			        #call, (unsigned long)rv_, (unsigned long)(want));               \
			failures++;                                                           \
		}                                                                         \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                       \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #cond); \
			failures++;                                                        \
		}                                                                      \
	} while (0)

#define BAD_HANDLE 0x7fff1234UL

static CK_MECHANISM sm3sm2 = {CKM_SM3_SM2, NULL_PTR, 0};
static CK_MECHANISM sm3sm2der = {CKM_SM3_SM2_DER, NULL_PTR, 0};
static CK_MECHANISM sm2sign = {CKM_SM2_SIGN, NULL_PTR, 0};
static CK_MECHANISM sm2signraw = {CKM_SM2_SIGN_NO_DER, NULL_PTR, 0};
static CK_MECHANISM sm3 = {CKM_SM3_HASH, NULL_PTR, 0};
static CK_MECHANISM keygen = {CKM_SM2_KEY_PAIR_GEN, NULL_PTR, 0};
static CK_MECHANISM ecdsa = {CKM_ECDSA, NULL_PTR, 0};
static CK_MECHANISM sm2raw = {CKM_SM2_RAW, NULL_PTR, 0};
static CK_MECHANISM sm2der = {CKM_SM2_CIPHER_DER, NULL_PTR, 0};
static CK_MECHANISM sm4env = {CKM_MIMA_SM4_ENVELOPE, NULL_PTR, 0};

static CK_BYTE iv[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
static CK_MECHANISM sm4gen = {CKM_SM4_KEY_GEN, NULL_PTR, 0};
static CK_MECHANISM sm4ecb = {CKM_SM4_ECB, NULL_PTR, 0};
static CK_MECHANISM sm4cbc = {CKM_SM4_CBC, iv, sizeof iv};
static CK_MECHANISM sm4cbcpad = {CKM_SM4_CBC_PAD, iv, sizeof iv};
static CK_BBOOL yes = CK_TRUE, no = CK_FALSE;

static CK_BYTE msg[] = "signed through the PKCS#11 function list";

/* load opens the module and reads its function list. */
static void load(const char *path) {
	void *lib = dlopen(path, RTLD_NOW);
	if (lib == NULL) {
		fprintf(stderr, "dlopen %s: %s\n", path, dlerror());
		exit(2);
	}
	CK_C_GetFunctionList get = (CK_C_GetFunctionList)dlsym(lib, "C_GetFunctionList");
	if (get == NULL) {
		fprintf(stderr, "no C_GetFunctionList in %s\n", path);
		exit(2);
	}
	EXPECT(get(NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(get(&f), CKR_OK);
	if (f == NULL) exit(2);
	CHECK(f->version.major == 2 && f->version.minor == 40);
	CHECK(f->C_GetFunctionList == get);
}

/* find returns the one object of key name and class in session s. */
static CK_OBJECT_HANDLE find(CK_SESSION_HANDLE s, const char *name, CK_OBJECT_CLASS class) {
	CK_ATTRIBUTE t[] = {{CKA_LABEL, (void *)name, strlen(name)}, {CKA_CLASS, &class, sizeof class}};
	CK_OBJECT_HANDLE h[4] = {0};
	CK_ULONG n = 0;
	EXPECT(f->C_FindObjectsInit(s, t, 2), CKR_OK);
	EXPECT(f->C_FindObjects(s, h, 4, &n), CKR_OK);
	EXPECT(f->C_FindObjectsFinal(s), CKR_OK);
	CHECK(n == 1);
	return h[0];
}

/* sign signs msg with mech and key into sig of *n bytes. */
static CK_RV sign(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG *n) {
	CK_RV rv = f->C_SignInit(s, mech, key);
	return rv != CKR_OK ? rv : f->C_Sign(s, data, len, sig, n);
}

static CK_RV verify(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR sig, CK_ULONG n) {
	CK_RV rv = f->C_VerifyInit(s, mech, key);
	return rv != CKR_OK ? rv : f->C_Verify(s, data, len, sig, n);
}

static CK_RV encrypt(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG *n) {
	CK_RV rv = f->C_EncryptInit(s, mech, key);
	return rv != CKR_OK ? rv : f->C_Encrypt(s, data, len, out, n);
}

static CK_RV decrypt(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key, CK_BYTE_PTR data, CK_ULONG len, CK_BYTE_PTR out, CK_ULONG *n) {
	CK_RV rv = f->C_DecryptInit(s, mech, key);
	return rv != CKR_OK ? rv : f->C_Decrypt(s, data, len, out, n);
}

/* sign_parts signs data with mech in parts of at most step bytes. */
static CK_RV sign_parts(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key, CK_BYTE_PTR data, CK_ULONG len, CK_ULONG step, CK_BYTE_PTR sig, CK_ULONG *n) {
	CK_RV rv = f->C_SignInit(s, mech, key);
	for (CK_ULONG i = 0; rv == CKR_OK && i < len; i += step) rv = f->C_SignUpdate(s, data + i, len - i < step ? len - i : step);
	return rv != CKR_OK ? rv : f->C_SignFinal(s, sig, n);
}

static CK_RV verify_parts(CK_SESSION_HANDLE s, CK_MECHANISM *mech, CK_OBJECT_HANDLE key, CK_BYTE_PTR data, CK_ULONG len, CK_ULONG step, CK_BYTE_PTR sig, CK_ULONG n) {
	CK_RV rv = f->C_VerifyInit(s, mech, key);
	for (CK_ULONG i = 0; rv == CKR_OK && i < len; i += step) rv = f->C_VerifyUpdate(s, data + i, len - i < step ? len - i : step);
	return rv != CKR_OK ? rv : f->C_VerifyFinal(s, sig, n);
}

static void test_info(void) {
	CK_INFO info;
	CK_SLOT_ID slots[2] = {9, 9};
	CK_ULONG n = 0;
	CK_SLOT_INFO si;
	CK_TOKEN_INFO ti;
	CK_MECHANISM_TYPE mechs[16];
	CK_MECHANISM_INFO mi;

	EXPECT(f->C_GetInfo(&info), CKR_CRYPTOKI_NOT_INITIALIZED);
	EXPECT(f->C_GetSlotList(CK_TRUE, NULL_PTR, &n), CKR_CRYPTOKI_NOT_INITIALIZED);
	EXPECT(f->C_Finalize(NULL_PTR), CKR_CRYPTOKI_NOT_INITIALIZED);
	EXPECT(f->C_Initialize(NULL_PTR), CKR_OK);
	EXPECT(f->C_Initialize(NULL_PTR), CKR_CRYPTOKI_ALREADY_INITIALIZED);
	EXPECT(f->C_Finalize((CK_VOID_PTR)&n), CKR_ARGUMENTS_BAD);

	EXPECT(f->C_GetInfo(NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GetInfo(&info), CKR_OK);
	CHECK(info.cryptokiVersion.major == 2 && info.cryptokiVersion.minor == 40);
	CHECK(memcmp(info.manufacturerID, "mima ", 5) == 0);

	EXPECT(f->C_GetSlotList(CK_TRUE, NULL_PTR, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GetSlotList(CK_TRUE, NULL_PTR, &n), CKR_OK);
	CHECK(n == 2);
	n = 1;
	EXPECT(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_BUFFER_TOO_SMALL);
	CHECK(n == 2 && slots[0] == 9);
	EXPECT(f->C_GetSlotList(CK_TRUE, slots, &n), CKR_OK);
	CHECK(n == 2 && slots[0] == 0 && slots[1] == 1);

	EXPECT(f->C_GetSlotInfo(0, &si), CKR_OK);
	CHECK(memcmp(si.slotDescription, "mima tenant default ", 20) == 0 && (si.flags & CKF_TOKEN_PRESENT));
	EXPECT(f->C_GetSlotInfo(2, &si), CKR_SLOT_ID_INVALID);
	EXPECT(f->C_GetSlotInfo(0, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GetTokenInfo(1, &ti), CKR_OK);
	CHECK(memcmp(ti.label, "acme ", 5) == 0 && (ti.flags & CKF_LOGIN_REQUIRED));
	EXPECT(f->C_GetTokenInfo(BAD_HANDLE, &ti), CKR_SLOT_ID_INVALID);
	EXPECT(f->C_GetTokenInfo(0, NULL_PTR), CKR_ARGUMENTS_BAD);

	EXPECT(f->C_GetMechanismList(0, NULL_PTR, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GetMechanismList(2, NULL_PTR, &n), CKR_SLOT_ID_INVALID);
	EXPECT(f->C_GetMechanismList(0, NULL_PTR, &n), CKR_OK);
	CHECK(n == 13);
	n = 2;
	EXPECT(f->C_GetMechanismList(0, mechs, &n), CKR_BUFFER_TOO_SMALL);
	CHECK(n == 13);
	n = 16;
	EXPECT(f->C_GetMechanismList(0, mechs, &n), CKR_OK);
	int der = 0, enc = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		der += mechs[i] == CKM_SM3_SM2_DER;
		enc += mechs[i] == CKM_SM2_RAW || mechs[i] == CKM_SM2_CIPHER_DER || mechs[i] == CKM_MIMA_SM4_ENVELOPE;
	}
	CHECK(n == 13 && der == 1 && enc == 3);
	EXPECT(f->C_GetMechanismInfo(0, CKM_SM3_SM2_DER, &mi), CKR_OK);
	CHECK((mi.flags & CKF_SIGN) && (mi.flags & CKF_VERIFY) && mi.ulMinKeySize == 256);
	EXPECT(f->C_GetMechanismInfo(0, CKM_SM3_HASH, &mi), CKR_OK);
	CHECK(mi.flags & CKF_DIGEST);
	EXPECT(f->C_GetMechanismInfo(0, CKM_SM2_CIPHER_DER, &mi), CKR_OK);
	CHECK((mi.flags & CKF_ENCRYPT) && (mi.flags & CKF_DECRYPT) && !(mi.flags & CKF_SIGN) && mi.ulMinKeySize == 256);
	EXPECT(f->C_GetMechanismInfo(0, CKM_MIMA_SM4_ENVELOPE, &mi), CKR_OK);
	CHECK((mi.flags & CKF_ENCRYPT) && (mi.flags & CKF_DECRYPT) && mi.ulMinKeySize == 128 && mi.ulMaxKeySize == 128);
	EXPECT(f->C_GetMechanismInfo(0, CKM_SM4_CBC_PAD, &mi), CKR_OK);
	CHECK((mi.flags & CKF_ENCRYPT) && (mi.flags & CKF_DECRYPT) && mi.ulMinKeySize == 128);
	EXPECT(f->C_GetMechanismInfo(0, CKM_SM4_KEY_GEN, &mi), CKR_OK);
	CHECK(mi.flags & CKF_GENERATE);
	EXPECT(f->C_GetMechanismInfo(0, CKM_SM2_RAW, &mi), CKR_OK);
	CHECK((mi.flags & CKF_WRAP) && (mi.flags & CKF_UNWRAP));
	EXPECT(f->C_GetMechanismInfo(0, CKM_ECDSA, &mi), CKR_MECHANISM_INVALID);
	EXPECT(f->C_GetMechanismInfo(0, CKM_SM3_HASH, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GetMechanismInfo(2, CKM_SM3_HASH, &mi), CKR_SLOT_ID_INVALID);
}

/* test_digest runs CKM_SM3_HASH, which needs no login. */
static void test_digest(CK_SESSION_HANDLE s) {
	CK_BYTE d[32], known[32] = {
		0x66, 0xc7, 0xf0, 0xf4, 0x62, 0xee, 0xed, 0xd9, 0xd1, 0xf2, 0xd4, 0x6b, 0xdc, 0x10, 0xe4, 0xe2,
		0x41, 0x67, 0xc4, 0x87, 0x5c, 0xf2, 0xf7, 0xa2, 0x29, 0x7d, 0xa0, 0x2b, 0x8f, 0x4b, 0xa8, 0xe0};
	CK_ULONG n = sizeof d;
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, d, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DigestInit(s, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_DigestInit(s, &ecdsa), CKR_MECHANISM_INVALID);
	EXPECT(f->C_DigestInit(BAD_HANDLE, &sm3), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, NULL_PTR, &n), CKR_OK); /* length query */
	CHECK(n == 32);
	n = 16;
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, d, &n), CKR_BUFFER_TOO_SMALL); /* keeps the operation */
	CHECK(n == 32);
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, d, &n), CKR_OK);
	CHECK(n == 32 && memcmp(d, known, 32) == 0); /* GB/T 32905 A.1 */
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, d, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK);
	EXPECT(f->C_Digest(s, NULL_PTR, 3, d, &n), CKR_ARGUMENTS_BAD); /* ends the operation */
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, d, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK);
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, d, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK); /* the NULL length ended it too */
	EXPECT(f->C_Digest(s, (CK_BYTE_PTR) "abc", 3, d, &n), CKR_OK);
}

static void test_login(CK_SESSION_HANDLE s, CK_SESSION_HANDLE rw, CK_SESSION_HANDLE acme) {
	CK_SESSION_INFO si;
	CK_BYTE r[16];
	EXPECT(f->C_GetSessionInfo(s, &si), CKR_OK);
	CHECK(si.slotID == 0 && si.state == CKS_RO_PUBLIC_SESSION && si.flags == CKF_SERIAL_SESSION);
	EXPECT(f->C_GetSessionInfo(BAD_HANDLE, &si), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_GetSessionInfo(s, NULL_PTR), CKR_ARGUMENTS_BAD);

	/* nothing but digests before login */
	EXPECT(f->C_FindObjectsInit(s, NULL_PTR, 0), CKR_USER_NOT_LOGGED_IN);
	EXPECT(f->C_GenerateRandom(s, r, sizeof r), CKR_USER_NOT_LOGGED_IN);
	EXPECT(f->C_SignInit(s, &sm3sm2, 1), CKR_USER_NOT_LOGGED_IN);
	EXPECT(f->C_VerifyInit(s, &sm3sm2, 1), CKR_USER_NOT_LOGGED_IN);
	EXPECT(f->C_Logout(s), CKR_USER_NOT_LOGGED_IN);

	EXPECT(f->C_Login(s, CKU_SO, pin, pinlen), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_Login(s, 7, pin, pinlen), CKR_USER_TYPE_INVALID);
	EXPECT(f->C_Login(s, CKU_USER, NULL_PTR, 0), CKR_PIN_INCORRECT);
	EXPECT(f->C_Login(s, CKU_USER, (CK_UTF8CHAR_PTR) "mima.s.not-a-token", 18), CKR_PIN_INCORRECT);
	EXPECT(f->C_Login(acme, CKU_USER, pin, pinlen), CKR_PIN_INCORRECT); /* another tenant's token */
	EXPECT(f->C_Login(BAD_HANDLE, CKU_USER, pin, pinlen), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_Login(s, CKU_USER, pin, pinlen), CKR_OK);
	EXPECT(f->C_Login(rw, CKU_USER, pin, pinlen), CKR_USER_ALREADY_LOGGED_IN); /* the slot is */
	EXPECT(f->C_GetSessionInfo(s, &si), CKR_OK);
	CHECK(si.state == CKS_RO_USER_FUNCTIONS);
	EXPECT(f->C_GetSessionInfo(rw, &si), CKR_OK);
	CHECK(si.state == CKS_RW_USER_FUNCTIONS && (si.flags & CKF_RW_SESSION));
	EXPECT(f->C_GetSessionInfo(acme, &si), CKR_OK);
	CHECK(si.slotID == 1 && si.state == CKS_RO_PUBLIC_SESSION);
	EXPECT(f->C_FindObjectsInit(acme, NULL_PTR, 0), CKR_USER_NOT_LOGGED_IN);
}

static void test_find(CK_SESSION_HANDLE s) {
	CK_OBJECT_CLASS secret = CKO_SECRET_KEY, certificate = CKO_CERTIFICATE;
	CK_ATTRIBUTE none[] = {{CKA_LABEL, "no-such-key", 11}}, kek[] = {{CKA_CLASS, &secret, sizeof secret}};
	CK_ATTRIBUTE cert[] = {{CKA_CLASS, &certificate, sizeof certificate}};
	CK_ATTRIBUTE certOf[] = {{CKA_CLASS, &certificate, sizeof certificate}, {CKA_LABEL, "p11-enc", 7}};
	CK_OBJECT_HANDLE h[8];
	CK_ULONG n = 99;
	EXPECT(f->C_FindObjects(s, h, 8, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_FindObjectsFinal(s), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_FindObjectsInit(s, NULL_PTR, 1), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_FindObjectsInit(s, none, 1), CKR_OK);
	EXPECT(f->C_FindObjectsInit(s, none, 1), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_FindObjects(s, NULL_PTR, 8, &n), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_FindObjects(s, h, 8, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_FindObjects(s, h, 8, &n), CKR_OK);
	CHECK(n == 0);
	EXPECT(f->C_FindObjectsFinal(s), CKR_OK);
	EXPECT(f->C_FindObjectsInit(s, kek, 1), CKR_OK);
	EXPECT(f->C_FindObjects(s, h, 8, &n), CKR_OK);
	CHECK(n == 1);
	EXPECT(f->C_FindObjectsFinal(s), CKR_OK);
	EXPECT(f->C_FindObjectsInit(s, cert, 1), CKR_OK);
	EXPECT(f->C_FindObjects(s, h, 8, &n), CKR_OK);
	CHECK(n == 1); /* of p11-sign */
	EXPECT(f->C_FindObjectsFinal(s), CKR_OK);
	EXPECT(f->C_FindObjectsInit(s, certOf, 2), CKR_OK);
	EXPECT(f->C_FindObjects(s, h, 8, &n), CKR_OK);
	CHECK(n == 0); /* p11-enc has none */
	EXPECT(f->C_FindObjectsFinal(s), CKR_OK);
	/* one object at a time: the private and public keys of p11-sign,
	 * p11-enc and p11-ca's key, p11-kek, p11-sign's certificate */
	EXPECT(f->C_FindObjectsInit(s, NULL_PTR, 0), CKR_OK);
	CK_ULONG total = 0;
	do {
		EXPECT(f->C_FindObjects(s, h, 1, &n), CKR_OK);
		total += n;
	} while (n == 1 && total < 16);
	CHECK(total == 8);
	EXPECT(f->C_FindObjectsFinal(s), CKR_OK);
}

static void test_attributes(CK_SESSION_HANDLE s, CK_SESSION_HANDLE acme, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub) {
	CK_OBJECT_CLASS class = 0;
	CK_KEY_TYPE type = 0;
	CK_BYTE label[16], point[80], params[16], value[32];
	CK_ATTRIBUTE q[] = {{CKA_CLASS, NULL_PTR, 0}, {CKA_KEY_TYPE, NULL_PTR, 0}, {CKA_LABEL, NULL_PTR, 0}};
	EXPECT(f->C_GetAttributeValue(s, priv, q, 3), CKR_OK); /* lengths */
	CHECK(q[0].ulValueLen == sizeof class && q[1].ulValueLen == sizeof type && q[2].ulValueLen == 8);
	CK_ATTRIBUTE a[] = {{CKA_CLASS, &class, sizeof class}, {CKA_KEY_TYPE, &type, sizeof type}, {CKA_LABEL, label, sizeof label}};
	EXPECT(f->C_GetAttributeValue(s, priv, a, 3), CKR_OK);
	CHECK(class == CKO_PRIVATE_KEY && type == CKK_SM2 && a[2].ulValueLen == 8 && memcmp(label, "p11-sign", 8) == 0);

	CK_ATTRIBUTE small[] = {{CKA_LABEL, label, 4}, {CKA_CLASS, &class, sizeof class}};
	EXPECT(f->C_GetAttributeValue(s, priv, small, 2), CKR_BUFFER_TOO_SMALL);
	CHECK(small[0].ulValueLen == CK_UNAVAILABLE_INFORMATION && small[1].ulValueLen == sizeof class);
	CK_ATTRIBUTE secret[] = {{CKA_VALUE, value, sizeof value}, {0x7777, value, sizeof value}};
	EXPECT(f->C_GetAttributeValue(s, priv, secret, 1), CKR_ATTRIBUTE_SENSITIVE);
	CHECK(secret[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
	EXPECT(f->C_GetAttributeValue(s, priv, secret + 1, 1), CKR_ATTRIBUTE_TYPE_INVALID);
	CHECK(secret[1].ulValueLen == CK_UNAVAILABLE_INFORMATION);

	CK_ATTRIBUTE ec[] = {{CKA_EC_POINT, NULL_PTR, 0}, {CKA_EC_PARAMS, params, sizeof params}};
	EXPECT(f->C_GetAttributeValue(s, pub, ec, 2), CKR_OK);
	CHECK(ec[0].ulValueLen == 67 && ec[1].ulValueLen == 10 && params[0] == 0x06);
	ec[0].pValue = point;
	ec[0].ulValueLen = sizeof point;
	EXPECT(f->C_GetAttributeValue(s, pub, ec, 1), CKR_OK);
	CHECK(ec[0].ulValueLen == 67 && point[0] == 0x04 && point[1] == 65 && point[2] == 0x04);

	EXPECT(f->C_GetAttributeValue(s, BAD_HANDLE, a, 1), CKR_OBJECT_HANDLE_INVALID);
	EXPECT(f->C_GetAttributeValue(BAD_HANDLE, priv, a, 1), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_GetAttributeValue(s, priv, NULL_PTR, 1), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GetAttributeValue(acme, priv, a, 1), CKR_OBJECT_HANDLE_INVALID); /* another slot's object */
}

static void test_sign(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub, CK_OBJECT_HANDLE kek) {
	CK_BYTE sig[80], e[32], e31[31] = {0};
	CK_ULONG n = sizeof sig;
	memset(e, 5, sizeof e);

	/* wrong order and bad arguments */
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_Verify(s, msg, sizeof msg, sig, 64), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_SignInit(s, NULL_PTR, priv), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_SignInit(s, &ecdsa, priv), CKR_MECHANISM_INVALID);
	EXPECT(f->C_SignInit(s, &sm3sm2, pub), CKR_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_SignInit(s, &sm3sm2, kek), CKR_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_SignInit(s, &sm3sm2, BAD_HANDLE), CKR_KEY_HANDLE_INVALID);
	EXPECT(f->C_SignInit(BAD_HANDLE, &sm3sm2, priv), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_VerifyInit(s, &sm3sm2, priv), CKR_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_VerifyInit(s, NULL_PTR, pub), CKR_ARGUMENTS_BAD);

	/* r || s with the length convention */
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OK);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_Sign(s, msg, sizeof msg, NULL_PTR, &n), CKR_OK);
	CHECK(n == 64);
	n = 10;
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_BUFFER_TOO_SMALL);
	CHECK(n == 64);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OK);
	CHECK(n == 64);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(verify(s, &sm3sm2, pub, msg, sizeof msg, sig, 64), CKR_OK);
	EXPECT(f->C_Verify(s, msg, sizeof msg, sig, 64), CKR_OPERATION_NOT_INITIALIZED); /* Verify ended it */
	EXPECT(verify(s, &sm3sm2, pub, msg, sizeof msg, sig, 63), CKR_SIGNATURE_LEN_RANGE);
	sig[63] ^= 1;
	EXPECT(verify(s, &sm3sm2, pub, msg, sizeof msg, sig, 64), CKR_SIGNATURE_INVALID);
	EXPECT(f->C_VerifyInit(s, &sm3sm2, pub), CKR_OK);
	EXPECT(f->C_Verify(s, NULL_PTR, 4, sig, 64), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_Verify(s, msg, sizeof msg, sig, 64), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OK);
	EXPECT(f->C_Sign(s, NULL_PTR, 4, sig, &n), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OK);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OPERATION_NOT_INITIALIZED);

	/* DER */
	n = 0;
	EXPECT(f->C_SignInit(s, &sm3sm2der, priv), CKR_OK);
	EXPECT(f->C_Sign(s, msg, sizeof msg, NULL_PTR, &n), CKR_OK);
	CHECK(n >= 8 && n <= 72);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OK);
	CHECK(sig[0] == 0x30);
	EXPECT(verify(s, &sm3sm2der, pub, msg, sizeof msg, sig, n), CKR_OK);
	EXPECT(verify(s, &sm3sm2der, pub, msg, sizeof msg - 1, sig, n), CKR_SIGNATURE_INVALID);
	EXPECT(verify(s, &sm3sm2der, pub, msg, sizeof msg, (CK_BYTE_PTR) "not DER", 7), CKR_SIGNATURE_INVALID);

	/* a 32-byte e */
	n = sizeof sig;
	EXPECT(sign(s, &sm2sign, priv, e31, sizeof e31, sig, &n), CKR_DATA_LEN_RANGE);
	EXPECT(f->C_Sign(s, e, 32, sig, &n), CKR_OPERATION_NOT_INITIALIZED); /* the failure ended it */
	EXPECT(sign(s, &sm2sign, priv, e, 32, sig, &n), CKR_OK);
	EXPECT(verify(s, &sm2sign, pub, e, 32, sig, n), CKR_OK);
	n = sizeof sig;
	EXPECT(sign(s, &sm2signraw, priv, e, 32, sig, &n), CKR_OK);
	CHECK(n == 64);
	EXPECT(verify(s, &sm2signraw, pub, e, 32, sig, n), CKR_OK);
	EXPECT(verify(s, &sm2signraw, pub, e31, sizeof e31, sig, n), CKR_DATA_LEN_RANGE);
}

static void test_random(CK_SESSION_HANDLE s) {
	CK_BYTE r1[32] = {0}, r2[32] = {0};
	EXPECT(f->C_GenerateRandom(s, NULL_PTR, 16), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GenerateRandom(BAD_HANDLE, r1, 16), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_GenerateRandom(s, r1, 0), CKR_OK);
	EXPECT(f->C_GenerateRandom(s, r1, sizeof r1), CKR_OK);
	EXPECT(f->C_GenerateRandom(s, r2, sizeof r2), CKR_OK);
	CHECK(memcmp(r1, r2, sizeof r1) != 0);
}

static void test_keygen(CK_SESSION_HANDLE s, CK_SESSION_HANDLE rw) {
	CK_ATTRIBUTE named[] = {{CKA_LABEL, "p11-gen", 7}}, unnamed[] = {{CKA_ID, "x", 1}};
	CK_OBJECT_HANDLE pub = 0, priv = 0;
	CK_BYTE sig[64];
	CK_ULONG n = sizeof sig;
	EXPECT(f->C_GenerateKeyPair(s, &keygen, NULL_PTR, 0, named, 1, &pub, &priv), CKR_SESSION_READ_ONLY);
	EXPECT(f->C_GenerateKeyPair(rw, &ecdsa, NULL_PTR, 0, named, 1, &pub, &priv), CKR_MECHANISM_INVALID);
	EXPECT(f->C_GenerateKeyPair(rw, NULL_PTR, NULL_PTR, 0, named, 1, &pub, &priv), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GenerateKeyPair(rw, &keygen, NULL_PTR, 1, named, 1, &pub, &priv), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GenerateKeyPair(rw, &keygen, NULL_PTR, 0, named, 1, NULL_PTR, &priv), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GenerateKeyPair(rw, &keygen, unnamed, 1, unnamed, 1, &pub, &priv), CKR_TEMPLATE_INCOMPLETE);
	EXPECT(f->C_GenerateKeyPair(rw, &keygen, NULL_PTR, 0, named, 1, &pub, &priv), CKR_OK);
	CHECK(pub != 0 && priv != 0 && pub != priv);
	EXPECT(f->C_GenerateKeyPair(rw, &keygen, named, 1, NULL_PTR, 0, &pub, &priv), CKR_TEMPLATE_INCONSISTENT); /* exists */
	/* the new key signs, through another session of the slot too */
	EXPECT(sign(rw, &sm3sm2, priv, msg, sizeof msg, sig, &n), CKR_OK);
	EXPECT(verify(s, &sm3sm2, pub, msg, sizeof msg, sig, n), CKR_OK);
	CHECK(find(s, "p11-gen", CKO_PRIVATE_KEY) == priv);
}

/* test_certificate reads the certificate object of p11-sign. */
static void test_certificate(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv) {
	CK_OBJECT_HANDLE cert = find(s, "p11-sign", CKO_CERTIFICATE);
	CK_CERTIFICATE_TYPE type = 99;
	CK_KEY_TYPE kt;
	CK_BBOOL token = CK_FALSE, private = CK_TRUE;
	CK_BYTE id[16], keyID[16], value[2048], subject[256], issuer[256], serial[32];
	CK_ATTRIBUTE q[] = {{CKA_VALUE, NULL_PTR, 0}, {CKA_SUBJECT, NULL_PTR, 0}};
	EXPECT(f->C_GetAttributeValue(s, cert, q, 2), CKR_OK);
	CHECK(q[0].ulValueLen > 200 && q[0].ulValueLen <= sizeof value && q[1].ulValueLen > 10);
	CK_ATTRIBUTE a[] = {{CKA_CERTIFICATE_TYPE, &type, sizeof type}, {CKA_ID, id, sizeof id}, {CKA_VALUE, value, sizeof value},
		{CKA_SUBJECT, subject, sizeof subject}, {CKA_ISSUER, issuer, sizeof issuer}, {CKA_SERIAL_NUMBER, serial, sizeof serial},
		{CKA_TOKEN, &token, sizeof token}, {CKA_PRIVATE, &private, sizeof private}};
	EXPECT(f->C_GetAttributeValue(s, cert, a, 8), CKR_OK);
	CHECK(type == CKC_X_509 && token == CK_TRUE && private == CK_FALSE);
	CHECK(a[2].ulValueLen == q[0].ulValueLen && value[0] == 0x30 && subject[0] == 0x30 && issuer[0] == 0x30 && serial[0] == 0x02);
	/* the subject is CN=p11-sign.example, found in the certificate */
	CHECK(memmem(subject, a[3].ulValueLen, "p11-sign.example", 16) != NULL);
	CHECK(memmem(value, a[2].ulValueLen, subject, a[3].ulValueLen) != NULL);
	/* CKA_ID pairs it with the key */
	CK_ATTRIBUTE k[] = {{CKA_ID, keyID, sizeof keyID}};
	EXPECT(f->C_GetAttributeValue(s, priv, k, 1), CKR_OK);
	CHECK(a[1].ulValueLen == k[0].ulValueLen && memcmp(id, keyID, k[0].ulValueLen) == 0);
	CK_ATTRIBUTE bad[] = {{CKA_KEY_TYPE, &kt, sizeof kt}};
	EXPECT(f->C_GetAttributeValue(s, cert, bad, 1), CKR_ATTRIBUTE_TYPE_INVALID);
	CK_ATTRIBUTE small[] = {{CKA_VALUE, value, 10}};
	EXPECT(f->C_GetAttributeValue(s, cert, small, 1), CKR_BUFFER_TOO_SMALL);
	/* a certificate is no key */
	EXPECT(f->C_SignInit(s, &sm3sm2, cert), CKR_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_EncryptInit(s, &sm2der, cert), CKR_KEY_TYPE_INCONSISTENT);
}

/* test_multipart runs C_DigestUpdate/Final, C_SignUpdate/Final and
 * C_VerifyUpdate/Final against the single-part calls. */
static void test_multipart(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub) {
	CK_BYTE d[32], d1[32], sig[80], e[32];
	CK_ULONG n = sizeof d, n1 = sizeof d1;
	memset(e, 7, sizeof e);

	/* digest */
	EXPECT(f->C_DigestUpdate(s, msg, 4), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DigestFinal(s, d, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK);
	EXPECT(f->C_Digest(s, msg, sizeof msg, d1, &n1), CKR_OK);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK);
	EXPECT(f->C_DigestUpdate(s, msg, 5), CKR_OK);
	EXPECT(f->C_DigestUpdate(s, msg + 5, 0), CKR_OK);
	EXPECT(f->C_DigestUpdate(s, msg + 5, sizeof msg - 5), CKR_OK);
	EXPECT(f->C_Digest(s, msg, sizeof msg, d, &n), CKR_OPERATION_ACTIVE); /* not after an Update */
	EXPECT(f->C_DigestFinal(s, NULL_PTR, &n), CKR_OK);
	CHECK(n == 32);
	n = 31;
	EXPECT(f->C_DigestFinal(s, d, &n), CKR_BUFFER_TOO_SMALL);
	CHECK(n == 32);
	EXPECT(f->C_DigestFinal(s, d, &n), CKR_OK);
	CHECK(n == 32 && memcmp(d, d1, 32) == 0);
	EXPECT(f->C_DigestFinal(s, d, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK);
	EXPECT(f->C_DigestUpdate(s, NULL_PTR, 4), CKR_ARGUMENTS_BAD); /* ends it */
	EXPECT(f->C_DigestFinal(s, d, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DigestUpdate(BAD_HANDLE, msg, 4), CKR_SESSION_HANDLE_INVALID);

	/* a message signed in parts verifies in one, and the other way */
	n = sizeof sig;
	EXPECT(sign_parts(s, &sm3sm2, priv, msg, sizeof msg, 7, sig, &n), CKR_OK);
	CHECK(n == 64);
	EXPECT(verify(s, &sm3sm2, pub, msg, sizeof msg, sig, n), CKR_OK);
	EXPECT(verify_parts(s, &sm3sm2, pub, msg, sizeof msg, 3, sig, n), CKR_OK);
	EXPECT(verify_parts(s, &sm3sm2, pub, msg, sizeof msg - 1, 3, sig, n), CKR_SIGNATURE_INVALID);
	EXPECT(f->C_VerifyFinal(s, sig, n), CKR_OPERATION_NOT_INITIALIZED); /* VerifyFinal ended it */
	n = sizeof sig;
	EXPECT(sign(s, &sm3sm2der, priv, msg, sizeof msg, sig, &n), CKR_OK);
	EXPECT(verify_parts(s, &sm3sm2der, pub, msg, sizeof msg, 16, sig, n), CKR_OK);
	/* no part at all: the empty message */
	n = sizeof sig;
	EXPECT(f->C_SignInit(s, &sm3sm2der, priv), CKR_OK);
	EXPECT(f->C_SignFinal(s, NULL_PTR, &n), CKR_OK); /* length query keeps it */
	EXPECT(f->C_SignFinal(s, sig, &n), CKR_OK);
	CHECK(sig[0] == 0x30);
	EXPECT(verify(s, &sm3sm2der, pub, msg, 0, sig, n), CKR_OK);
	/* a 32-byte e in parts */
	n = sizeof sig;
	EXPECT(sign_parts(s, &sm2signraw, priv, e, 32, 16, sig, &n), CKR_OK);
	EXPECT(verify(s, &sm2signraw, pub, e, 32, sig, n), CKR_OK);
	EXPECT(f->C_SignInit(s, &sm2sign, priv), CKR_OK);
	EXPECT(f->C_SignUpdate(s, e, 20), CKR_OK);
	EXPECT(f->C_SignUpdate(s, e, 20), CKR_DATA_LEN_RANGE); /* ends it */
	EXPECT(f->C_SignFinal(s, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_SignInit(s, &sm2sign, priv), CKR_OK);
	EXPECT(f->C_SignUpdate(s, e, 20), CKR_OK);
	EXPECT(f->C_SignFinal(s, sig, &n), CKR_DATA_LEN_RANGE);

	/* order */
	EXPECT(f->C_SignUpdate(s, msg, 4), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_SignFinal(s, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_VerifyUpdate(s, msg, 4), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_VerifyFinal(s, sig, 64), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OK);
	EXPECT(f->C_VerifyUpdate(s, msg, 4), CKR_OPERATION_NOT_INITIALIZED); /* a sign is active */
	EXPECT(f->C_SignUpdate(s, msg, 4), CKR_OK);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_SignFinal(s, sig, NULL_PTR), CKR_ARGUMENTS_BAD); /* ends it */
	EXPECT(f->C_SignFinal(s, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OK);
	n = sizeof sig;
	EXPECT(f->C_Sign(s, msg, sizeof msg, NULL_PTR, &n), CKR_OK); /* a single-part length query */
	EXPECT(f->C_SignUpdate(s, msg, 4), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OK);
	EXPECT(f->C_VerifyInit(s, &sm3sm2, pub), CKR_OK);
	EXPECT(f->C_VerifyUpdate(s, msg, sizeof msg), CKR_OK);
	EXPECT(f->C_VerifyFinal(s, sig, 63), CKR_SIGNATURE_LEN_RANGE);
	EXPECT(f->C_VerifyInit(s, &sm3sm2, pub), CKR_OK);
	EXPECT(f->C_VerifyFinal(s, NULL_PTR, 64), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_VerifyFinal(s, sig, 64), CKR_OPERATION_NOT_INITIALIZED);
}

/* test_crypt runs C_Encrypt and C_Decrypt, in one part and in several,
 * with the SM4 envelope on p11-kek and SM2 on p11-enc. */
static void test_crypt(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE kek, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub) {
	CK_BYTE ct[512], ct2[512], pt[128];
	CK_ULONG n = sizeof ct, m = sizeof pt, n2 = sizeof ct2;
	CK_MECHANISM aes = {CKM_AES_ECB, NULL_PTR, 0}, sm2param = {CKM_SM2_RAW, (CK_VOID_PTR) "x", 1};
	CK_MECHANISM aad = {CKM_MIMA_SM4_ENVELOPE, (CK_VOID_PTR) "table=patients", 14};

	/* refusals */
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_Decrypt(s, ct, 16, pt, &m), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_EncryptUpdate(s, msg, 4, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_EncryptFinal(s, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DecryptUpdate(s, ct, 4, pt, &m), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_DecryptFinal(s, pt, &m), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_EncryptInit(s, NULL_PTR, kek), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_EncryptInit(BAD_HANDLE, &sm4env, kek), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_EncryptInit(s, &aes, kek), CKR_MECHANISM_INVALID);
	/* a mima sm4 key has no raw SM4 mode on the server */
	EXPECT(f->C_EncryptInit(s, &sm4ecb, kek), CKR_KEY_FUNCTION_NOT_PERMITTED);
	EXPECT(f->C_EncryptInit(s, &sm4cbc, kek), CKR_KEY_FUNCTION_NOT_PERMITTED);
	EXPECT(f->C_DecryptInit(s, &sm4cbcpad, kek), CKR_KEY_FUNCTION_NOT_PERMITTED);
	EXPECT(f->C_EncryptInit(s, &ecdsa, pub), CKR_MECHANISM_INVALID);
	EXPECT(f->C_EncryptInit(s, &sm3sm2, pub), CKR_MECHANISM_INVALID);
	EXPECT(f->C_EncryptInit(s, &sm4env, BAD_HANDLE), CKR_KEY_HANDLE_INVALID);
	EXPECT(f->C_EncryptInit(s, &sm4env, pub), CKR_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_EncryptInit(s, &sm2der, kek), CKR_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_EncryptInit(s, &sm2der, priv), CKR_KEY_TYPE_INCONSISTENT); /* a public key encrypts */
	EXPECT(f->C_DecryptInit(s, &sm2der, pub), CKR_KEY_TYPE_INCONSISTENT);  /* a private key decrypts */
	EXPECT(f->C_EncryptInit(s, &sm2param, pub), CKR_MECHANISM_PARAM_INVALID);

	/* the SM4 envelope with the length convention */
	EXPECT(f->C_EncryptInit(s, &sm4env, kek), CKR_OK);
	EXPECT(f->C_EncryptInit(s, &sm4env, kek), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_DecryptInit(s, &sm4env, kek), CKR_OPERATION_ACTIVE);
	n = 0;
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, NULL_PTR, &n), CKR_OK);
	CK_ULONG need = n;
	CHECK(need > 8 && need <= sizeof ct);
	n = 8;
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct, &n), CKR_BUFFER_TOO_SMALL);
	CHECK(n == need);
	n = sizeof ct;
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct, &n), CKR_OK);
	CHECK(n == need && memcmp(ct, "mima:v1:", 8) == 0);
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
	m = 0;
	EXPECT(f->C_DecryptInit(s, &sm4env, kek), CKR_OK);
	EXPECT(f->C_Decrypt(s, ct, n, NULL_PTR, &m), CKR_OK);
	CHECK(m == sizeof msg);
	m = 4;
	EXPECT(f->C_Decrypt(s, ct, n, pt, &m), CKR_BUFFER_TOO_SMALL);
	m = sizeof pt;
	EXPECT(f->C_Decrypt(s, ct, n, pt, &m), CKR_OK);
	CHECK(m == sizeof msg && memcmp(pt, msg, m) == 0);
	ct[n - 3] ^= 1;
	m = sizeof pt;
	EXPECT(decrypt(s, &sm4env, kek, ct, n, pt, &m), CKR_ENCRYPTED_DATA_INVALID);
	EXPECT(f->C_Decrypt(s, ct, n, pt, &m), CKR_OPERATION_NOT_INITIALIZED); /* the failure ended it */
	EXPECT(decrypt(s, &sm4env, kek, (CK_BYTE_PTR) "not mima", 8, pt, &m), CKR_ENCRYPTED_DATA_INVALID);
	EXPECT(f->C_EncryptInit(s, &sm4env, kek), CKR_OK);
	EXPECT(f->C_Encrypt(s, NULL_PTR, 4, ct, &n), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct, &n), CKR_OPERATION_NOT_INITIALIZED);

	/* the AAD is the mechanism's parameter */
	n = sizeof ct;
	EXPECT(encrypt(s, &aad, kek, msg, sizeof msg, ct, &n), CKR_OK);
	m = sizeof pt;
	EXPECT(decrypt(s, &sm4env, kek, ct, n, pt, &m), CKR_ENCRYPTED_DATA_INVALID);
	m = sizeof pt;
	EXPECT(decrypt(s, &aad, kek, ct, n, pt, &m), CKR_OK);
	CHECK(m == sizeof msg && memcmp(pt, msg, m) == 0);

	/* in parts: the module keeps them, Final gives it all */
	EXPECT(f->C_EncryptInit(s, &sm4env, kek), CKR_OK);
	n2 = 99;
	EXPECT(f->C_EncryptUpdate(s, msg, 10, ct2, &n2), CKR_OK);
	CHECK(n2 == 0);
	EXPECT(f->C_EncryptUpdate(s, msg + 10, sizeof msg - 10, NULL_PTR, &n2), CKR_OK); /* asks, consumes nothing */
	CHECK(n2 == 0);
	EXPECT(f->C_EncryptUpdate(s, msg + 10, sizeof msg - 10, ct2, &n2), CKR_OK);
	CHECK(n2 == 0);
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct2, &n2), CKR_OPERATION_ACTIVE);
	n2 = 0;
	EXPECT(f->C_EncryptFinal(s, NULL_PTR, &n2), CKR_OK);
	CHECK(n2 == need);
	n2 = sizeof ct2;
	EXPECT(f->C_EncryptFinal(s, ct2, &n2), CKR_OK);
	CHECK(n2 == need && memcmp(ct2, "mima:v1:", 8) == 0 && memcmp(ct, ct2, need) != 0);
	EXPECT(f->C_DecryptInit(s, &sm4env, kek), CKR_OK);
	for (CK_ULONG i = 0; i < n2; i += 9) {
		m = 99;
		EXPECT(f->C_DecryptUpdate(s, ct2 + i, n2 - i < 9 ? n2 - i : 9, pt, &m), CKR_OK);
		CHECK(m == 0);
	}
	m = sizeof pt;
	EXPECT(f->C_DecryptFinal(s, pt, &m), CKR_OK);
	CHECK(m == sizeof msg && memcmp(pt, msg, m) == 0);
	EXPECT(f->C_EncryptInit(s, &sm4env, kek), CKR_OK);
	EXPECT(f->C_EncryptUpdate(s, msg, 4, ct2, NULL_PTR), CKR_ARGUMENTS_BAD); /* ends it */
	EXPECT(f->C_EncryptFinal(s, ct2, &n2), CKR_OPERATION_NOT_INITIALIZED);

	/* SM2: C1 || C3 || C2 and DER, each decrypted */
	n = sizeof ct;
	EXPECT(encrypt(s, &sm2raw, pub, msg, sizeof msg, ct, &n), CKR_OK);
	CHECK(n == 97 + sizeof msg && ct[0] == 0x04);
	m = sizeof pt;
	EXPECT(decrypt(s, &sm2raw, priv, ct, n, pt, &m), CKR_OK);
	CHECK(m == sizeof msg && memcmp(pt, msg, m) == 0);
	m = sizeof pt;
	EXPECT(decrypt(s, &sm2der, priv, ct, n, pt, &m), CKR_ENCRYPTED_DATA_INVALID); /* not DER */
	ct[n - 1] ^= 1;
	m = sizeof pt;
	EXPECT(decrypt(s, &sm2raw, priv, ct, n, pt, &m), CKR_ENCRYPTED_DATA_INVALID);
	EXPECT(decrypt(s, &sm2raw, priv, ct, 97, pt, &m), CKR_ENCRYPTED_DATA_INVALID);
	n = sizeof ct;
	EXPECT(encrypt(s, &sm2der, pub, msg, sizeof msg, ct, &n), CKR_OK);
	CHECK(ct[0] == 0x30);
	m = sizeof pt;
	EXPECT(decrypt(s, &sm2der, priv, ct, n, pt, &m), CKR_OK);
	CHECK(m == sizeof msg && memcmp(pt, msg, m) == 0);
	EXPECT(f->C_DecryptInit(s, &sm2der, priv), CKR_OK);
	EXPECT(f->C_DecryptUpdate(s, ct, 20, pt, &m), CKR_OK);
	EXPECT(f->C_DecryptUpdate(s, ct + 20, n - 20, pt, &m), CKR_OK);
	m = sizeof pt;
	EXPECT(f->C_DecryptFinal(s, pt, &m), CKR_OK);
	CHECK(m == sizeof msg && memcmp(pt, msg, m) == 0);
	EXPECT(encrypt(s, &sm2raw, pub, msg, 0, ct, &n), CKR_DATA_LEN_RANGE);
}

/* gen makes a session SM4 key in session s, sensitive or not, extractable
 * or not. */
static CK_OBJECT_HANDLE gen(CK_SESSION_HANDLE s, CK_BBOOL *sensitive, CK_BBOOL *extractable) {
	CK_OBJECT_CLASS class = CKO_SECRET_KEY;
	CK_KEY_TYPE type = CKK_SM4;
	CK_ULONG len = 16;
	CK_ATTRIBUTE t[] = {{CKA_CLASS, &class, sizeof class}, {CKA_KEY_TYPE, &type, sizeof type}, {CKA_VALUE_LEN, &len, sizeof len},
		{CKA_TOKEN, &no, 1}, {CKA_ENCRYPT, &yes, 1}, {CKA_SENSITIVE, sensitive, 1}, {CKA_EXTRACTABLE, extractable, 1}};
	CK_OBJECT_HANDLE h = 0;
	EXPECT(f->C_GenerateKey(s, &sm4gen, t, 7, &h), CKR_OK);
	return h;
}

/* crypt_parts runs an SM4 operation begun with init in parts of step
 * bytes into out, checking each part's length query, and returns the
 * Final's rv; *n is the output's length. */
static CK_RV crypt_parts(CK_SESSION_HANDLE s, int encrypting, CK_BYTE_PTR in, CK_ULONG len, CK_ULONG step, CK_BYTE_PTR out, CK_ULONG *n) {
	CK_ULONG done = 0, m;
	CK_RV rv = CKR_OK;
	for (CK_ULONG i = 0; rv == CKR_OK && i < len; i += step) {
		CK_ULONG part = len - i < step ? len - i : step;
		m = 0;
		rv = encrypting ? f->C_EncryptUpdate(s, in + i, part, NULL_PTR, &m) : f->C_DecryptUpdate(s, in + i, part, NULL_PTR, &m);
		if (rv != CKR_OK) return rv;
		CK_ULONG want = m;
		rv = encrypting ? f->C_EncryptUpdate(s, in + i, part, out + done, &m) : f->C_DecryptUpdate(s, in + i, part, out + done, &m);
		CHECK(m == want && m % 16 == 0);
		done += m;
	}
	if (rv != CKR_OK) return rv;
	m = *n - done;
	rv = encrypting ? f->C_EncryptFinal(s, out + done, &m) : f->C_DecryptFinal(s, out + done, &m);
	*n = done + m;
	return rv;
}

/* test_session_keys: session SM4 keys made by C_GenerateKey and
 * C_UnwrapKey, CKM_SM4_ECB, CKM_SM4_CBC and CKM_SM4_CBC_PAD on them in one
 * part and in parts, C_WrapKey under p11-enc, C_DestroyObject. */
static void test_session_keys(CK_SESSION_HANDLE s, CK_SESSION_HANDLE rw, CK_OBJECT_HANDLE kek, CK_OBJECT_HANDLE priv, CK_OBJECT_HANDLE pub) {
	/* GB/T 32907 A.1: the key encrypts itself into 681edf34... */
	CK_BYTE known[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
	CK_BYTE kat[16] = {0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42, 0x46};
	CK_BYTE wrapped[256], value[32], in[64], ct[128], ct2[128], pt[128];
	CK_ULONG n, m, len16 = 16, len32 = 32;
	CK_OBJECT_CLASS pubclass = CKO_PUBLIC_KEY, class = 0;
	CK_KEY_TYPE sm2 = CKK_SM2, type = 0;
	CK_BBOOL token = CK_TRUE, local = CK_FALSE, sensitive = CK_FALSE;
	CK_OBJECT_HANDLE h = 0, k = 0, plain = 0, secret = 0;

	/* C_GenerateKey's refusals */
	CK_ATTRIBUTE tokenKey[] = {{CKA_TOKEN, &yes, 1}}, long32[] = {{CKA_VALUE_LEN, &len32, sizeof len32}};
	CK_ATTRIBUTE asPublic[] = {{CKA_CLASS, &pubclass, sizeof pubclass}}, asSM2[] = {{CKA_KEY_TYPE, &sm2, sizeof sm2}};
	CK_ATTRIBUTE wide[] = {{CKA_SENSITIVE, &len16, sizeof len16}}, len[] = {{CKA_VALUE_LEN, &len16, sizeof len16}};
	EXPECT(f->C_GenerateKey(s, &keygen, NULL_PTR, 0, &h), CKR_MECHANISM_INVALID);
	EXPECT(f->C_GenerateKey(s, &sm4cbc, NULL_PTR, 0, &h), CKR_MECHANISM_INVALID);
	EXPECT(f->C_GenerateKey(s, &sm4gen, NULL_PTR, 0, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GenerateKey(s, NULL_PTR, NULL_PTR, 0, &h), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_GenerateKey(BAD_HANDLE, &sm4gen, NULL_PTR, 0, &h), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_GenerateKey(s, &sm4gen, tokenKey, 1, &h), CKR_TEMPLATE_INCONSISTENT);
	EXPECT(f->C_GenerateKey(s, &sm4gen, long32, 1, &h), CKR_ATTRIBUTE_VALUE_INVALID);
	EXPECT(f->C_GenerateKey(s, &sm4gen, asPublic, 1, &h), CKR_TEMPLATE_INCONSISTENT);
	EXPECT(f->C_GenerateKey(s, &sm4gen, asSM2, 1, &h), CKR_TEMPLATE_INCONSISTENT);
	EXPECT(f->C_GenerateKey(s, &sm4gen, wide, 1, &h), CKR_ATTRIBUTE_VALUE_INVALID);

	/* a key by default: sensitive, unextractable, a session object */
	EXPECT(f->C_GenerateKey(s, &sm4gen, len, 1, &secret), CKR_OK); /* in a read-only session */
	CK_ATTRIBUTE a[] = {{CKA_CLASS, &class, sizeof class}, {CKA_KEY_TYPE, &type, sizeof type}, {CKA_TOKEN, &token, 1},
		{CKA_LOCAL, &local, 1}, {CKA_SENSITIVE, &sensitive, 1}};
	EXPECT(f->C_GetAttributeValue(s, secret, a, 5), CKR_OK);
	CHECK(class == CKO_SECRET_KEY && type == CKK_SM4 && token == CK_FALSE && local == CK_TRUE && sensitive == CK_TRUE);
	CK_ATTRIBUTE v[] = {{CKA_VALUE, value, sizeof value}};
	EXPECT(f->C_GetAttributeValue(s, secret, v, 1), CKR_ATTRIBUTE_SENSITIVE);
	CHECK(v[0].ulValueLen == CK_UNAVAILABLE_INFORMATION);
	n = sizeof wrapped;
	EXPECT(f->C_WrapKey(s, &sm2der, pub, secret, wrapped, &n), CKR_KEY_UNEXTRACTABLE);
	EXPECT(f->C_WrapKey(s, &sm2der, pub, kek, wrapped, &n), CKR_KEY_UNEXTRACTABLE); /* mima's keys stay on the server */

	/* an extractable, not sensitive key: its value is read, two differ */
	plain = gen(s, &no, &yes);
	k = gen(s, &no, &yes);
	CK_BYTE value2[16];
	CK_ATTRIBUTE v2[] = {{CKA_VALUE, value2, sizeof value2}};
	v[0].ulValueLen = sizeof value;
	EXPECT(f->C_GetAttributeValue(s, plain, v, 1), CKR_OK);
	EXPECT(f->C_GetAttributeValue(s, k, v2, 1), CKR_OK);
	CHECK(v[0].ulValueLen == 16 && v2[0].ulValueLen == 16 && memcmp(value, value2, 16) != 0);

	/* the standard's key, wrapped by SM2 through C_Encrypt, unwrapped */
	CK_ATTRIBUTE open[] = {{CKA_EXTRACTABLE, &yes, 1}, {CKA_SENSITIVE, &no, 1}};
	n = sizeof wrapped;
	EXPECT(encrypt(s, &sm2der, pub, known, 16, wrapped, &n), CKR_OK);
	EXPECT(f->C_UnwrapKey(s, &sm2der, pub, wrapped, n, open, 2, &h), CKR_UNWRAPPING_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_UnwrapKey(s, &sm2der, BAD_HANDLE, wrapped, n, open, 2, &h), CKR_UNWRAPPING_KEY_HANDLE_INVALID);
	EXPECT(f->C_UnwrapKey(s, &sm2raw, priv, wrapped, n, open, 2, &h), CKR_WRAPPED_KEY_INVALID); /* DER is not C1 || C3 || C2 */
	EXPECT(f->C_UnwrapKey(s, &sm4env, priv, wrapped, n, open, 2, &h), CKR_MECHANISM_INVALID);
	EXPECT(f->C_UnwrapKey(s, &sm2der, priv, wrapped, n, tokenKey, 1, &h), CKR_TEMPLATE_INCONSISTENT);
	EXPECT(f->C_UnwrapKey(s, &sm2der, priv, NULL_PTR, n, open, 2, &h), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_UnwrapKey(s, &sm2der, priv, wrapped, n, open, 2, &h), CKR_OK);
	v[0].ulValueLen = sizeof value;
	EXPECT(f->C_GetAttributeValue(s, h, v, 1), CKR_OK);
	CHECK(v[0].ulValueLen == 16 && memcmp(value, known, 16) == 0);
	CK_ATTRIBUTE l[] = {{CKA_LOCAL, &local, 1}};
	EXPECT(f->C_GetAttributeValue(s, h, l, 1), CKR_OK);
	CHECK(local == CK_FALSE);
	n = sizeof ct;
	EXPECT(encrypt(s, &sm4ecb, h, known, 16, ct, &n), CKR_OK);
	CHECK(n == 16 && memcmp(ct, kat, 16) == 0);
	n = sizeof wrapped;
	EXPECT(encrypt(s, &sm2raw, pub, known, 15, wrapped, &n), CKR_OK);
	EXPECT(f->C_UnwrapKey(s, &sm2raw, priv, wrapped, n, open, 2, &k), CKR_WRAPPED_KEY_INVALID); /* 15 bytes */
	wrapped[n - 1] ^= 1;
	EXPECT(f->C_UnwrapKey(s, &sm2raw, priv, wrapped, n, open, 2, &k), CKR_WRAPPED_KEY_INVALID); /* tampered */

	/* wrap and unwrap: a sensitive extractable key travels and encrypts
	 * the same after */
	secret = gen(s, &yes, &yes);
	EXPECT(f->C_WrapKey(s, &sm2der, priv, secret, wrapped, &n), CKR_WRAPPING_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_WrapKey(s, &sm2der, BAD_HANDLE, secret, wrapped, &n), CKR_WRAPPING_KEY_HANDLE_INVALID);
	EXPECT(f->C_WrapKey(s, &sm2der, pub, BAD_HANDLE, wrapped, &n), CKR_KEY_HANDLE_INVALID);
	EXPECT(f->C_WrapKey(s, &sm2der, pub, secret, wrapped, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_WrapKey(s, &sm4ecb, pub, secret, wrapped, &n), CKR_MECHANISM_INVALID);
	for (int form = 0; form < 2; form++) {
		CK_MECHANISM *mech = form ? &sm2raw : &sm2der;
		n = 0;
		EXPECT(f->C_WrapKey(s, mech, pub, secret, NULL_PTR, &n), CKR_OK);
		CHECK(n == (form ? 113UL : 124UL));
		m = 10;
		EXPECT(f->C_WrapKey(s, mech, pub, secret, wrapped, &m), CKR_BUFFER_TOO_SMALL);
		CHECK(m == n);
		EXPECT(f->C_WrapKey(s, mech, pub, secret, wrapped, &n), CKR_OK);
		CHECK(form ? (n == 113 && wrapped[0] == 0x04) : (n <= 124 && wrapped[0] == 0x30));
		EXPECT(f->C_UnwrapKey(rw, mech, priv, wrapped, n, NULL_PTR, 0, &k), CKR_OK);
		CHECK(k != secret);
		EXPECT(f->C_GetAttributeValue(s, k, v, 1), CKR_ATTRIBUTE_SENSITIVE); /* sensitive by default */
		n = sizeof ct;
		m = sizeof ct2;
		EXPECT(encrypt(s, &sm4cbcpad, secret, msg, sizeof msg, ct, &n), CKR_OK);
		EXPECT(encrypt(rw, &sm4cbcpad, k, msg, sizeof msg, ct2, &m), CKR_OK);
		CHECK(n == 48 && m == 48 && memcmp(ct, ct2, 48) == 0);
		EXPECT(f->C_DestroyObject(rw, k), CKR_OK);
	}

	/* each mode, one part and parts of 1, 5, 16 and 23 bytes */
	for (int i = 0; i < 64; i++) in[i] = (CK_BYTE)(i * 7 + 1);
	CK_MECHANISM *modes[] = {&sm4ecb, &sm4cbc, &sm4cbcpad};
	CK_ULONG steps[] = {1, 5, 16, 23};
	for (int i = 0; i < 3; i++) {
		CK_ULONG len = modes[i] == &sm4cbcpad ? 61 : 64, want = 64; /* 61 bytes pad to 64 */
		n = sizeof ct;
		EXPECT(f->C_EncryptInit(s, modes[i], plain), CKR_OK);
		EXPECT(f->C_Encrypt(s, in, len, NULL_PTR, &n), CKR_OK);
		CHECK(n == want);
		m = n - 1;
		EXPECT(f->C_Encrypt(s, in, len, ct, &m), CKR_BUFFER_TOO_SMALL);
		EXPECT(f->C_Encrypt(s, in, len, ct, &n), CKR_OK);
		CHECK(n == want && memcmp(ct, in, 16) != 0);
		m = sizeof pt;
		EXPECT(decrypt(s, modes[i], plain, ct, n, pt, &m), CKR_OK);
		CHECK(m == len && memcmp(pt, in, len) == 0);
		for (int j = 0; j < 4; j++) {
			m = sizeof ct2;
			EXPECT(f->C_EncryptInit(s, modes[i], plain), CKR_OK);
			EXPECT(crypt_parts(s, 1, in, len, steps[j], ct2, &m), CKR_OK);
			CHECK(m == n && memcmp(ct, ct2, n) == 0);
			m = sizeof pt;
			EXPECT(f->C_DecryptInit(s, modes[i], plain), CKR_OK);
			EXPECT(crypt_parts(s, 0, ct, n, steps[j], pt, &m), CKR_OK);
			CHECK(m == len && memcmp(pt, in, len) == 0);
		}
	}
	/* CBC chains from the IV: another IV, another ciphertext */
	CK_BYTE iv2[16] = {0};
	CK_MECHANISM cbc2 = {CKM_SM4_CBC, iv2, 16};
	n = sizeof ct;
	m = sizeof ct2;
	EXPECT(encrypt(s, &sm4cbc, plain, in, 32, ct, &n), CKR_OK);
	EXPECT(encrypt(s, &cbc2, plain, in, 32, ct2, &m), CKR_OK);
	CHECK(n == 32 && m == 32 && memcmp(ct, ct2, 32) != 0);

	/* refusals: IV length, whole blocks, padding, buffers, order */
	CK_MECHANISM iv15 = {CKM_SM4_CBC, iv, 15}, noiv = {CKM_SM4_CBC_PAD, NULL_PTR, 0}, ecbiv = {CKM_SM4_ECB, iv, 16};
	EXPECT(f->C_EncryptInit(s, &iv15, plain), CKR_MECHANISM_PARAM_INVALID);
	EXPECT(f->C_DecryptInit(s, &noiv, plain), CKR_MECHANISM_PARAM_INVALID);
	EXPECT(f->C_EncryptInit(s, &ecbiv, plain), CKR_MECHANISM_PARAM_INVALID);
	EXPECT(f->C_EncryptInit(s, &sm4env, plain), CKR_KEY_FUNCTION_NOT_PERMITTED); /* not on the server */
	EXPECT(f->C_EncryptInit(s, &sm4ecb, pub), CKR_KEY_TYPE_INCONSISTENT);
	EXPECT(f->C_SignInit(s, &sm3sm2, plain), CKR_KEY_TYPE_INCONSISTENT);
	n = sizeof ct;
	EXPECT(encrypt(s, &sm4cbc, plain, in, 17, ct, &n), CKR_DATA_LEN_RANGE);
	EXPECT(f->C_Encrypt(s, in, 16, ct, &n), CKR_OPERATION_NOT_INITIALIZED); /* the failure ended it */
	EXPECT(encrypt(s, &sm4ecb, plain, in, 15, ct, &n), CKR_DATA_LEN_RANGE);
	m = sizeof pt;
	EXPECT(decrypt(s, &sm4cbc, plain, in, 20, pt, &m), CKR_ENCRYPTED_DATA_LEN_RANGE);
	EXPECT(decrypt(s, &sm4cbcpad, plain, in, 20, pt, &m), CKR_ENCRYPTED_DATA_LEN_RANGE);
	EXPECT(decrypt(s, &sm4cbcpad, plain, in, 0, pt, &m), CKR_ENCRYPTED_DATA_LEN_RANGE);
	/* a block of zeros encrypted without padding ends in 00: no PKCS#7 */
	CK_BYTE zeros[16] = {0};
	n = sizeof ct;
	EXPECT(encrypt(s, &sm4cbc, plain, zeros, 16, ct, &n), CKR_OK);
	m = sizeof pt;
	EXPECT(decrypt(s, &sm4cbcpad, plain, ct, n, pt, &m), CKR_ENCRYPTED_DATA_INVALID);
	EXPECT(f->C_DecryptInit(s, &sm4cbcpad, plain), CKR_OK);
	m = sizeof pt;
	EXPECT(f->C_DecryptUpdate(s, ct, n, pt, &m), CKR_OK);
	CHECK(m == 0); /* the last block waits for the Final */
	m = sizeof pt;
	EXPECT(f->C_DecryptFinal(s, pt, &m), CKR_ENCRYPTED_DATA_INVALID);
	EXPECT(f->C_DecryptFinal(s, pt, &m), CKR_OPERATION_NOT_INITIALIZED);
	/* parts: too small a buffer keeps the part; a partial block is left */
	EXPECT(f->C_EncryptInit(s, &sm4cbc, plain), CKR_OK);
	m = 8;
	EXPECT(f->C_EncryptUpdate(s, in, 20, ct, &m), CKR_BUFFER_TOO_SMALL);
	CHECK(m == 16);
	m = sizeof ct;
	EXPECT(f->C_EncryptUpdate(s, in, 20, ct, &m), CKR_OK);
	CHECK(m == 16);
	EXPECT(f->C_Encrypt(s, in, 16, ct, &m), CKR_OPERATION_ACTIVE);
	EXPECT(f->C_EncryptUpdate(s, in, 4, NULL_PTR, NULL_PTR), CKR_ARGUMENTS_BAD); /* ends it */
	EXPECT(f->C_EncryptFinal(s, ct, &m), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_EncryptInit(s, &sm4ecb, plain), CKR_OK);
	m = sizeof ct;
	EXPECT(f->C_EncryptUpdate(s, in, 20, ct, &m), CKR_OK);
	m = sizeof ct;
	EXPECT(f->C_EncryptFinal(s, ct, &m), CKR_DATA_LEN_RANGE);

	/* a key of CKA_ENCRYPT false does not encrypt */
	CK_ATTRIBUTE decryptOnly[] = {{CKA_ENCRYPT, &no, 1}};
	EXPECT(f->C_GenerateKey(s, &sm4gen, decryptOnly, 1, &k), CKR_OK);
	EXPECT(f->C_EncryptInit(s, &sm4ecb, k), CKR_KEY_FUNCTION_NOT_PERMITTED);
	EXPECT(f->C_DecryptInit(s, &sm4ecb, k), CKR_OK);
	m = sizeof pt;
	EXPECT(f->C_Decrypt(s, kat, 16, pt, &m), CKR_OK);

	/* found by class with the mima keys, visible to the slot's sessions */
	CK_OBJECT_CLASS secretClass = CKO_SECRET_KEY;
	CK_ATTRIBUTE bySecret[] = {{CKA_CLASS, &secretClass, sizeof secretClass}, {CKA_TOKEN, &no, 1}};
	CK_OBJECT_HANDLE found[16];
	EXPECT(f->C_FindObjectsInit(rw, bySecret, 2), CKR_OK);
	EXPECT(f->C_FindObjects(rw, found, 16, &n), CKR_OK);
	EXPECT(f->C_FindObjectsFinal(rw), CKR_OK);
	CHECK(n == 6); /* the default key, plain, the second generated, the unwrapped one, secret, decryptOnly */

	/* destroyed: gone; a mima key is not destroyed */
	EXPECT(f->C_DestroyObject(s, plain), CKR_OK);
	EXPECT(f->C_DestroyObject(s, plain), CKR_OBJECT_HANDLE_INVALID);
	EXPECT(f->C_EncryptInit(s, &sm4ecb, plain), CKR_KEY_HANDLE_INVALID);
	EXPECT(f->C_GetAttributeValue(s, plain, v, 1), CKR_OBJECT_HANDLE_INVALID);
	EXPECT(f->C_DestroyObject(BAD_HANDLE, k), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_DestroyObject(s, priv), CKR_ACTION_PROHIBITED);

	/* closing its session destroys a session key */
	CK_SESSION_HANDLE s3 = 0;
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s3), CKR_OK);
	k = gen(s3, &no, &yes);
	EXPECT(f->C_GetAttributeValue(s, k, v2, 1), CKR_OK);
	EXPECT(f->C_CloseSession(s3), CKR_OK);
	EXPECT(f->C_GetAttributeValue(s, k, v2, 1), CKR_OBJECT_HANDLE_INVALID);
}

/* test_unsupported calls a few of the functions the module does not
 * implement. */
static void test_unsupported(CK_SESSION_HANDLE s, CK_OBJECT_HANDLE kek) {
	CK_BYTE b[16] = {0};
	CK_ULONG n = sizeof b;
	CK_OBJECT_HANDLE h;
	EXPECT(f->C_InitToken(0, pin, pinlen, b), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_SetPIN(s, pin, pinlen, pin, pinlen), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_CreateObject(s, NULL_PTR, 0, &h), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_DestroyObject(s, kek), CKR_ACTION_PROHIBITED); /* mima's keys go through the API */
	EXPECT(f->C_GetOperationState(s, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_DigestKey(s, kek), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_SignRecoverInit(s, &sm3sm2, kek), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_DigestEncryptUpdate(s, b, 16, b, &n), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_DeriveKey(s, &sm4env, kek, NULL_PTR, 0, &h), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_SeedRandom(s, b, 16), CKR_FUNCTION_NOT_SUPPORTED);
	EXPECT(f->C_WaitForSlotEvent(0, NULL_PTR, NULL_PTR), CKR_FUNCTION_NOT_SUPPORTED);
}

static void test_all(void) {
	CK_SESSION_HANDLE s = 0, rw = 0, acme = 0, s2 = 0;
	CK_BYTE r[16];
	test_info();
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, NULL_PTR), CKR_ARGUMENTS_BAD);
	EXPECT(f->C_OpenSession(0, 0, NULL_PTR, NULL_PTR, &s), CKR_SESSION_PARALLEL_NOT_SUPPORTED);
	EXPECT(f->C_OpenSession(2, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s), CKR_SLOT_ID_INVALID);
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s), CKR_OK);
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL_PTR, NULL_PTR, &rw), CKR_OK);
	EXPECT(f->C_OpenSession(1, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &acme), CKR_OK);
	CHECK(s != rw && s != acme && rw != acme);

	test_digest(s);
	test_login(s, rw, acme);
	test_find(s);
	CK_OBJECT_HANDLE priv = find(s, "p11-sign", CKO_PRIVATE_KEY), pub = find(rw, "p11-sign", CKO_PUBLIC_KEY);
	CK_OBJECT_HANDLE kek = find(s, "p11-kek", CKO_SECRET_KEY);
	CHECK(priv != pub && priv == find(s, "p11-sign", CKO_PRIVATE_KEY)); /* stable handles */
	test_attributes(s, acme, priv, pub);
	test_sign(s, priv, pub, kek);
	test_certificate(s, priv);
	test_multipart(s, priv, pub);
	test_crypt(s, kek, find(s, "p11-enc", CKO_PRIVATE_KEY), find(s, "p11-enc", CKO_PUBLIC_KEY));
	test_session_keys(s, rw, kek, find(s, "p11-enc", CKO_PRIVATE_KEY), find(s, "p11-enc", CKO_PUBLIC_KEY));
	test_random(s);
	test_keygen(s, rw);
	test_unsupported(s, kek);

	/* logout ends the login of every session of the slot */
	EXPECT(f->C_Logout(rw), CKR_OK);
	EXPECT(f->C_Logout(s), CKR_USER_NOT_LOGGED_IN);
	EXPECT(f->C_GenerateRandom(s, r, sizeof r), CKR_USER_NOT_LOGGED_IN);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_USER_NOT_LOGGED_IN);

	/* the last session of a slot logs it out */
	EXPECT(f->C_Login(s, CKU_USER, pin, pinlen), CKR_OK);
	EXPECT(f->C_CloseSession(s), CKR_OK);
	EXPECT(f->C_CloseSession(s), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_GenerateRandom(s, r, sizeof r), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_GenerateRandom(rw, r, sizeof r), CKR_OK);
	EXPECT(f->C_CloseSession(rw), CKR_OK);
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s2), CKR_OK);
	EXPECT(f->C_GenerateRandom(s2, r, sizeof r), CKR_USER_NOT_LOGGED_IN);

	EXPECT(f->C_CloseAllSessions(2), CKR_SLOT_ID_INVALID);
	EXPECT(f->C_CloseAllSessions(1), CKR_OK);
	EXPECT(f->C_GetSessionInfo(acme, NULL_PTR), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_Finalize(NULL_PTR), CKR_OK);
	EXPECT(f->C_GetSessionInfo(s2, NULL_PTR), CKR_CRYPTOKI_NOT_INITIALIZED);
	EXPECT(f->C_Finalize(NULL_PTR), CKR_CRYPTOKI_NOT_INITIALIZED);
	/* initialized again, nothing of before remains */
	EXPECT(f->C_Initialize(NULL_PTR), CKR_OK);
	EXPECT(f->C_GenerateRandom(s2, r, sizeof r), CKR_SESSION_HANDLE_INVALID);
	EXPECT(f->C_Finalize(NULL_PTR), CKR_OK);
}

/* test_lost logs in and signs, prints "ready", waits for a line (the
 * test revokes the token or seals the server), then expects every call
 * to the server to give want and a new login relogin. */
static void test_lost(CK_RV want, CK_RV relogin) {
	CK_SESSION_HANDLE s = 0;
	CK_BYTE sig[64], r[16], d[32], point[80];
	CK_ULONG n = sizeof sig;
	char line[16];
	EXPECT(f->C_Initialize(NULL_PTR), CKR_OK);
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s), CKR_OK);
	EXPECT(f->C_Login(s, CKU_USER, pin, pinlen), CKR_OK);
	CK_OBJECT_HANDLE priv = find(s, "p11-sign", CKO_PRIVATE_KEY), pub = find(s, "p11-sign", CKO_PUBLIC_KEY);
	CK_OBJECT_HANDLE kek = find(s, "p11-kek", CKO_SECRET_KEY);
	EXPECT(sign(s, &sm3sm2, priv, msg, sizeof msg, sig, &n), CKR_OK);
	printf("ready\n");
	fflush(stdout);
	if (fgets(line, sizeof line, stdin) == NULL) failures++;

	n = sizeof sig;
	EXPECT(sign(s, &sm3sm2, priv, msg, sizeof msg, sig, &n), want);
	EXPECT(f->C_Sign(s, msg, sizeof msg, sig, &n), CKR_OPERATION_NOT_INITIALIZED); /* the failure ended it */
	EXPECT(f->C_GenerateRandom(s, r, sizeof r), want);
	EXPECT(f->C_FindObjectsInit(s, NULL_PTR, 0), want);
	CK_ATTRIBUTE ec[] = {{CKA_EC_POINT, point, sizeof point}};
	EXPECT(f->C_GetAttributeValue(s, pub, ec, 1), want);
	CK_BYTE ct[256];
	CK_OBJECT_CLASS certificate = CKO_CERTIFICATE;
	CK_ATTRIBUTE cert[] = {{CKA_CLASS, &certificate, sizeof certificate}};
	EXPECT(f->C_FindObjectsInit(s, cert, 1), want);
	n = sizeof ct;
	EXPECT(f->C_EncryptInit(s, &sm4env, kek), CKR_OK); /* checked in the module */
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct, &n), want);
	EXPECT(f->C_Encrypt(s, msg, sizeof msg, ct, &n), CKR_OPERATION_NOT_INITIALIZED);
	EXPECT(f->C_EncryptInit(s, &sm4env, kek), CKR_OK);
	EXPECT(f->C_EncryptUpdate(s, msg, sizeof msg, ct, &n), CKR_OK);
	EXPECT(f->C_EncryptFinal(s, ct, &n), want);
	EXPECT(f->C_SignInit(s, &sm3sm2, priv), CKR_OK);
	EXPECT(f->C_SignUpdate(s, msg, sizeof msg), want); /* asks for the key's version */
	EXPECT(f->C_SignFinal(s, sig, &n), CKR_OPERATION_NOT_INITIALIZED);
	n = sizeof d;
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK); /* in the module: still works */
	EXPECT(f->C_Digest(s, msg, sizeof msg, d, &n), CKR_OK);
	EXPECT(f->C_DigestInit(s, &sm3), CKR_OK);
	EXPECT(f->C_DigestUpdate(s, msg, sizeof msg), CKR_OK);
	EXPECT(f->C_DigestFinal(s, d, &n), CKR_OK);
	EXPECT(f->C_Logout(s), CKR_OK);
	EXPECT(f->C_Login(s, CKU_USER, pin, pinlen), relogin);
	EXPECT(f->C_GenerateRandom(s, r, sizeof r), CKR_USER_NOT_LOGGED_IN);
	EXPECT(f->C_Finalize(NULL_PTR), CKR_OK);
}

struct work {
	CK_OBJECT_HANDLE priv, pub, kek, cert, encpub;
	long calls;
	int errors;
};

/* mix makes call i of the mixed workload in session s into heap buffers
 * of the exact size (for valgrind); it returns the failures. */
static int mix(CK_SESSION_HANDLE s, struct work *w, long i) {
	CK_BYTE *sig = malloc(64), *d = malloc(32), *r = malloc(32), *label = malloc(8), *point = malloc(67);
	CK_OBJECT_HANDLE *h = malloc(2 * sizeof *h);
	CK_MECHANISM_TYPE *mechs = malloc(13 * sizeof *mechs);
	CK_BYTE *ct = malloc(256), *pt = malloc(sizeof msg), *der = malloc(1024);
	CK_ULONG m;
	CK_ULONG n = 64;
	CK_SESSION_INFO si;
	CK_ATTRIBUTE a[] = {{CKA_LABEL, label, 8}, {CKA_EC_POINT, point, 67}};
	int bad = 0;
	memcpy(label, "p11-sign", 8);
	switch (i % 12) {
	case 0:
		bad += sign(s, &sm3sm2, w->priv, msg, sizeof msg, sig, &n) != CKR_OK || n != 64;
		bad += verify(s, &sm3sm2, w->pub, msg, sizeof msg, sig, n) != CKR_OK;
		break;
	case 1:
		n = 32;
		bad += f->C_DigestInit(s, &sm3) != CKR_OK;
		bad += f->C_Digest(s, msg, sizeof msg, d, &n) != CKR_OK || n != 32;
		break;
	case 2: bad += f->C_GenerateRandom(s, r, 32) != CKR_OK; break;
	case 3:
		bad += f->C_Sign(s, msg, sizeof msg, sig, &n) != CKR_OPERATION_NOT_INITIALIZED;
		bad += f->C_GetAttributeValue(s, BAD_HANDLE, a, 1) != CKR_OBJECT_HANDLE_INVALID;
		bad += f->C_GenerateRandom(BAD_HANDLE, r, 32) != CKR_SESSION_HANDLE_INVALID;
		break;
	case 4:
		bad += f->C_FindObjectsInit(s, a, 1) != CKR_OK;
		bad += f->C_FindObjects(s, h, 2, &n) != CKR_OK || n != 2 || h[0] == h[1];
		bad += f->C_FindObjectsFinal(s) != CKR_OK;
		break;
	case 5:
		bad += f->C_GetAttributeValue(s, w->pub, a, 2) != CKR_OK || a[0].ulValueLen != 8 || a[1].ulValueLen != 67;
		break;
	case 6:
		n = 10;
		bad += sign(s, &sm2signraw, w->priv, r, 32, sig, &n) != CKR_BUFFER_TOO_SMALL || n != 64;
		bad += f->C_Sign(s, r, 32, sig, &n) != CKR_OK;
		break;
	case 7:
		n = 13;
		bad += f->C_GetSessionInfo(s, &si) != CKR_OK || si.state != CKS_RO_USER_FUNCTIONS;
		bad += f->C_GetMechanismList(0, mechs, &n) != CKR_OK || n != 13;
		break;
	case 8:
		n = 0;
		bad += f->C_EncryptInit(s, &sm4env, w->kek) != CKR_OK;
		bad += f->C_EncryptUpdate(s, msg, 8, ct, &n) != CKR_OK || n != 0;
		bad += f->C_EncryptUpdate(s, msg + 8, sizeof msg - 8, ct, &n) != CKR_OK;
		bad += f->C_EncryptFinal(s, NULL_PTR, &n) != CKR_OK || n > 256;
		bad += f->C_EncryptFinal(s, ct, &n) != CKR_OK;
		m = sizeof msg;
		bad += decrypt(s, &sm4env, w->kek, ct, n, pt, &m) != CKR_OK || m != sizeof msg || memcmp(pt, msg, m) != 0;
		break;
	case 9:
		n = 64;
		bad += sign_parts(s, &sm3sm2, w->priv, msg, sizeof msg, 10, sig, &n) != CKR_OK;
		bad += verify_parts(s, &sm3sm2, w->pub, msg, sizeof msg, 20, sig, n) != CKR_OK;
		n = 32;
		bad += f->C_DigestInit(s, &sm3) != CKR_OK || f->C_DigestUpdate(s, msg, sizeof msg) != CKR_OK;
		bad += f->C_DigestFinal(s, d, &n) != CKR_OK;
		break;
	case 10: {
		CK_ATTRIBUTE v[] = {{CKA_VALUE, NULL_PTR, 0}};
		bad += f->C_GetAttributeValue(s, w->cert, v, 1) != CKR_OK || v[0].ulValueLen > 1024;
		v[0].pValue = der;
		bad += f->C_GetAttributeValue(s, w->cert, v, 1) != CKR_OK || der[0] != 0x30;
		n = 256;
		bad += encrypt(s, &sm2raw, w->pub, msg, sizeof msg, ct, &n) != CKR_OK;
		m = sizeof msg;
		bad += decrypt(s, &sm2raw, w->priv, ct, n, pt, &m) != CKR_OK || memcmp(pt, msg, sizeof msg) != 0;
		break;
	}
	case 11: {
		/* a session key: generated, CBC_PAD in parts, wrapped, destroyed */
		CK_OBJECT_HANDLE k = 0;
		CK_ATTRIBUTE t[] = {{CKA_EXTRACTABLE, &yes, 1}};
		bad += f->C_GenerateKey(s, &sm4gen, t, 1, &k) != CKR_OK;
		bad += f->C_EncryptInit(s, &sm4cbcpad, k) != CKR_OK;
		n = 256;
		bad += f->C_EncryptUpdate(s, msg, 20, ct, &n) != CKR_OK || n != 16;
		m = 256 - n;
		bad += f->C_EncryptUpdate(s, msg + 20, sizeof msg - 20, ct + n, &m) != CKR_OK;
		n += m;
		m = 256 - n;
		bad += f->C_EncryptFinal(s, ct + n, &m) != CKR_OK || n + m != 48;
		m = sizeof msg;
		bad += decrypt(s, &sm4cbcpad, k, ct, 48, pt, &m) != CKR_OK || m != sizeof msg || memcmp(pt, msg, m) != 0;
		n = 256;
		bad += f->C_WrapKey(s, &sm2raw, w->encpub, k, ct, &n) != CKR_OK || n != 113;
		bad += f->C_DestroyObject(s, k) != CKR_OK;
		break;
	}
	}
	free(ct);
	free(pt);
	free(der);
	free(sig);
	free(d);
	free(r);
	free(label);
	free(point);
	free(h);
	free(mechs);
	return bad;
}

static void *worker(void *arg) {
	struct work *w = arg;
	CK_SESSION_HANDLE s = 0;
	if (f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s) != CKR_OK) {
		w->errors++;
		return NULL;
	}
	for (long i = 0; i < w->calls; i++) w->errors += mix(s, w, i);
	if (f->C_CloseSession(s) != CKR_OK) w->errors++;
	return NULL;
}

static void test_loop(long calls) {
	CK_SESSION_HANDLE s = 0;
	pthread_t t[8];
	struct work w[8];
	EXPECT(f->C_Initialize(NULL_PTR), CKR_OK);
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s), CKR_OK);
	EXPECT(f->C_Login(s, CKU_USER, pin, pinlen), CKR_OK);
	CK_OBJECT_HANDLE priv = find(s, "p11-sign", CKO_PRIVATE_KEY), pub = find(s, "p11-sign", CKO_PUBLIC_KEY);
	CK_OBJECT_HANDLE kek = find(s, "p11-kek", CKO_SECRET_KEY), cert = find(s, "p11-sign", CKO_CERTIFICATE);
	CK_OBJECT_HANDLE encpub = find(s, "p11-enc", CKO_PUBLIC_KEY);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct work){.priv = priv, .pub = pub, .kek = kek, .cert = cert, .encpub = encpub, .calls = calls / 8};
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		failures += w[i].errors;
	}
	EXPECT(f->C_CloseAllSessions(0), CKR_OK);
	EXPECT(f->C_Finalize(NULL_PTR), CKR_OK);
}

/* slurp reads dir/name into a new buffer of *n bytes. */
static CK_BYTE_PTR slurp(const char *dir, const char *name, CK_ULONG *n) {
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "rb");
	CK_BYTE_PTR b = malloc(65536);
	*n = fp == NULL ? 0 : fread(b, 1, 65536, fp);
	if (fp == NULL || *n == 0) {
		fprintf(stderr, "cannot read %s\n", path);
		failures++;
	}
	if (fp != NULL) fclose(fp);
	return b;
}

static void spit(const char *dir, const char *name, CK_BYTE_PTR b, CK_ULONG n) {
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *fp = fopen(path, "wb");
	if (fp == NULL || fwrite(b, 1, n, fp) != n) {
		fprintf(stderr, "cannot write %s\n", path);
		failures++;
	}
	if (fp != NULL) fclose(fp);
}

/* test_interop exchanges ciphertexts and a signature with mima's API and
 * OpenSSL through files in dir (see the top of this file). */
static void test_interop(const char *dir) {
	CK_SESSION_HANDLE s = 0;
	CK_BYTE out[4096];
	CK_ULONG n, len;
	EXPECT(f->C_Initialize(NULL_PTR), CKR_OK);
	EXPECT(f->C_OpenSession(0, CKF_SERIAL_SESSION, NULL_PTR, NULL_PTR, &s), CKR_OK);
	EXPECT(f->C_Login(s, CKU_USER, pin, pinlen), CKR_OK);
	CK_OBJECT_HANDLE kek = find(s, "p11-kek", CKO_SECRET_KEY), sign = find(s, "p11-sign", CKO_PRIVATE_KEY);
	CK_OBJECT_HANDLE priv = find(s, "p11-enc", CKO_PRIVATE_KEY), pub = find(s, "p11-enc", CKO_PUBLIC_KEY);

	CK_BYTE_PTR in = slurp(dir, "api-sm4.ct", &len);
	n = sizeof out;
	EXPECT(decrypt(s, &sm4env, kek, in, len, out, &n), CKR_OK);
	spit(dir, "api-sm4.pt", out, n);
	free(in);
	in = slurp(dir, "openssl-sm2.der", &len);
	n = sizeof out;
	EXPECT(decrypt(s, &sm2der, priv, in, len, out, &n), CKR_OK);
	spit(dir, "openssl-sm2.pt", out, n);
	free(in);

	in = slurp(dir, "msg", &len);
	n = sizeof out;
	EXPECT(encrypt(s, &sm4env, kek, in, len, out, &n), CKR_OK);
	spit(dir, "p11-sm4.ct", out, n);
	n = sizeof out;
	EXPECT(encrypt(s, &sm2der, pub, in, len, out, &n), CKR_OK);
	spit(dir, "p11-sm2.der", out, n);
	n = sizeof out;
	EXPECT(encrypt(s, &sm2raw, pub, in, len, out, &n), CKR_OK);
	spit(dir, "p11-sm2.raw", out, n);
	n = sizeof out;
	EXPECT(sign_parts(s, &sm3sm2der, sign, in, len, 5, out, &n), CKR_OK);
	spit(dir, "p11.sig", out, n);
	free(in);

	/* SM4 session keys: OpenSSL's key, wrapped by openssl pkeyutl
	 * -encrypt, unwrapped, and its openssl enc -sm4-cbc ciphertext
	 * decrypted; the module's key (read as CKA_VALUE) and CBC_PAD
	 * ciphertext for openssl enc -d */
	CK_ATTRIBUTE clear[] = {{CKA_EXTRACTABLE, &yes, 1}, {CKA_SENSITIVE, &no, 1}};
	CK_OBJECT_HANDLE k = 0;
	CK_ULONG ivlen = 0;
	in = slurp(dir, "openssl-sm4.key.der", &len);
	EXPECT(f->C_UnwrapKey(s, &sm2der, priv, in, len, clear, 2, &k), CKR_OK);
	free(in);
	CK_BYTE_PTR oiv = slurp(dir, "openssl-sm4.iv", &ivlen);
	CK_MECHANISM cbcpad = {CKM_SM4_CBC_PAD, oiv, ivlen};
	in = slurp(dir, "openssl-sm4.ct", &len);
	n = sizeof out;
	EXPECT(decrypt(s, &cbcpad, k, in, len, out, &n), CKR_OK);
	spit(dir, "openssl-sm4.pt", out, n);
	free(in);
	free(oiv);
	k = gen(s, &no, &yes);
	CK_ATTRIBUTE v[] = {{CKA_VALUE, out, 16}};
	EXPECT(f->C_GetAttributeValue(s, k, v, 1), CKR_OK);
	spit(dir, "p11-sm4.key", out, 16);
	spit(dir, "p11-sm4.iv", iv, sizeof iv);
	in = slurp(dir, "msg", &len);
	n = sizeof out;
	EXPECT(encrypt(s, &sm4cbcpad, k, in, len, out, &n), CKR_OK);
	spit(dir, "p11-sm4cbc.ct", out, n);
	free(in);
	EXPECT(f->C_Finalize(NULL_PTR), CKR_OK);
}

int main(int argc, char **argv) {
	if (argc < 3) {
		fprintf(stderr, "usage: p11test MODULE all|revoked|sealed|loop N|interop DIR\n");
		return 2;
	}
	pin = (CK_UTF8CHAR_PTR)getenv("MIMA_P11_PIN");
	if (pin == NULL) {
		fprintf(stderr, "MIMA_P11_PIN is not set\n");
		return 2;
	}
	pinlen = strlen((char *)pin);
	load(argv[1]);
	if (strcmp(argv[2], "all") == 0) {
		test_all();
	} else if (strcmp(argv[2], "revoked") == 0) {
		test_lost(CKR_USER_NOT_LOGGED_IN, CKR_PIN_INCORRECT);
	} else if (strcmp(argv[2], "sealed") == 0) {
		test_lost(CKR_DEVICE_ERROR, CKR_DEVICE_ERROR);
	} else if (argc == 4 && strcmp(argv[2], "interop") == 0) {
		test_interop(argv[3]);
	} else if (argc == 4 && strcmp(argv[2], "loop") == 0) {
		test_loop(atol(argv[3]));
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[2]);
		return 2;
	}
	if (failures > 0) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	return 0;
}
