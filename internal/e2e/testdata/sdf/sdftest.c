/*
 * sdftest: runs every function of libmimasdf (sdf.h) against a mima dev
 * server, including the error paths, and prints what the Go test checks
 * against mima's API and OpenSSL (internal/e2e/sdf_test.go).
 *
 *   sdftest all          every function once; prints pub=, msg=, sig=
 *   sdftest revoked      the configured token is revoked: SDR_PARDENY
 *   sdftest sealed       prints "ready", waits for a line on stdin (the
 *                        server is sealed meanwhile): SDR_HARDFAIL, then
 *                        SDF_OpenDevice gives SDR_OPENDEVICE
 *   sdftest loop N       N mixed calls from 8 threads, one session each
 *   sdftest bench SECS [OP]
 *                        calls/s of SDF_InternalSign_ECC (OP sign) and
 *                        SDF_Encrypt (SM4-CBC, 64 B and 4 KiB: OP
 *                        encrypt64, encrypt4k) from 8 threads; no OP: all
 *
 * Key indexes (MIMA_SDF_CONFIG): 1 sm2 signing key, 2 sm2 encryption key,
 * 3 sm4 key-encryption key, 9 a name with no key. MIMA_SDF_SIGNER is a
 * token that may use key 1 (for SDF_GetPrivateKeyAccessRight).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sdf.h"

static int failures;

#define EXPECT(call, want)                                                       \
	do {                                                                         \
		int rc_ = (call);                                                        \
		if (rc_ != (want)) {                                                     \
			fprintf(stderr, "%s:%d: %s = 0x%08X, want 0x%08X\n", __FILE__, __LINE__, \
			        #call, (unsigned)rc_, (unsigned)(want));                         \
			failures++;                                                          \
		}                                                                        \
	} while (0)

#define CHECK(cond)                                                            \
	do {                                                                       \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: %s is false\n", __FILE__, __LINE__, #cond); \
			failures++;                                                        \
		}                                                                      \
	} while (0)

static void hex(const char *label, const unsigned char *b, size_t n) {
	printf("%s=", label);
	for (size_t i = 0; i < n; i++) printf("%02x", b[i]);
	printf("\n");
}

static ECCCipher *new_cipher(unsigned int n) { return calloc(1, sizeof(ECCCipher) + n); }

/* sm3_z hashes msg with Z of pub (default ID) into e. */
static void sm3_z(void *s, ECCrefPublicKey *pub, const char *msg, unsigned char e[32]) {
	unsigned int n = 0;
	EXPECT(SDF_HashInit(s, SGD_SM3, pub, NULL, 0), SDR_OK);
	EXPECT(SDF_HashUpdate(s, (unsigned char *)msg, strlen(msg)), SDR_OK);
	EXPECT(SDF_HashFinal(s, e, &n), SDR_OK);
	CHECK(n == 32);
}

/* same_key checks that two session key handles hold the same key. */
static void same_key(void *s, void *k1, void *k2) {
	unsigned char iv1[16] = {0}, iv2[16] = {0}, in[32] = "thirty-two bytes of plain text!", a[32], b[32];
	unsigned int na = 0, nb = 0;
	EXPECT(SDF_Encrypt(s, k1, SGD_SM4_CBC, iv1, in, 32, a, &na), SDR_OK);
	EXPECT(SDF_Encrypt(s, k2, SGD_SM4_CBC, iv2, in, 32, b, &nb), SDR_OK);
	CHECK(na == 32 && nb == 32 && memcmp(a, b, 32) == 0);
}

static void test_all(void) {
	void *dev = NULL, *s = NULL, *s2 = NULL;
	EXPECT(SDF_OpenDevice(NULL), SDR_OUTARGERR);
	EXPECT(SDF_OpenDevice(&dev), SDR_OK);
	EXPECT(SDF_OpenSession(dev, &s), SDR_OK);
	EXPECT(SDF_OpenSession(dev, &s2), SDR_OK);
	EXPECT(SDF_OpenSession((void *)0x1234, &s2), SDR_INARGERR);

	DEVICEINFO info;
	EXPECT(SDF_GetDeviceInfo(s, &info), SDR_OK);
	CHECK(memcmp(info.IssuerName, "mima", 4) == 0 && info.HashAlgAbility == SGD_SM3);
	EXPECT(SDF_GetDeviceInfo(s, NULL), SDR_OUTARGERR);

	/* random */
	unsigned char r1[32] = {0}, r2[32] = {0};
	EXPECT(SDF_GenerateRandom(s, 32, r1), SDR_OK);
	EXPECT(SDF_GenerateRandom(s, 32, r2), SDR_OK);
	CHECK(memcmp(r1, r2, 32) != 0);
	EXPECT(SDF_GenerateRandom(s, 32, NULL), SDR_OUTARGERR);
	EXPECT(SDF_GenerateRandom(NULL, 32, r1), SDR_INARGERR);
	EXPECT(SDF_GenerateRandom((void *)0x7fff1234, 32, r1), SDR_INARGERR);

	/* public keys, bad indexes */
	ECCrefPublicKey pub1, pub2;
	EXPECT(SDF_ExportSignPublicKey_ECC(s, 1, &pub1), SDR_OK);
	CHECK(pub1.bits == 256);
	EXPECT(SDF_ExportEncPublicKey_ECC(s, 2, &pub2), SDR_OK);
	EXPECT(SDF_ExportSignPublicKey_ECC(s, 42, &pub1), SDR_KEYNOTEXIST);
	EXPECT(SDF_ExportSignPublicKey_ECC(s, 9, &pub2), SDR_KEYNOTEXIST);
	EXPECT(SDF_ExportSignPublicKey_ECC(s, 3, &pub2), SDR_KEYTYPEERR);
	EXPECT(SDF_ExportSignPublicKey_ECC(s, 1, &pub1), SDR_OK);
	EXPECT(SDF_ExportEncPublicKey_ECC(s, 2, &pub2), SDR_OK);

	/* hash, with and without the signer's ID */
	unsigned char e[32], plain[32], known[32] = {
		0x66, 0xc7, 0xf0, 0xf4, 0x62, 0xee, 0xed, 0xd9, 0xd1, 0xf2, 0xd4, 0x6b, 0xdc, 0x10, 0xe4, 0xe2,
		0x41, 0x67, 0xc4, 0x87, 0x5c, 0xf2, 0xf7, 0xa2, 0x29, 0x7d, 0xa0, 0x2b, 0x8f, 0x4b, 0xa8, 0xe0};
	unsigned int n = 0;
	EXPECT(SDF_HashUpdate(s, (unsigned char *)"abc", 3), SDR_STEPERR);
	EXPECT(SDF_HashFinal(s, plain, &n), SDR_STEPERR);
	EXPECT(SDF_HashInit(s, SGD_SHA256, NULL, NULL, 0), SDR_ALGNOTSUPPORT);
	EXPECT(SDF_HashInit(s, SGD_SM3, NULL, NULL, 0), SDR_OK);
	EXPECT(SDF_HashUpdate(s, (unsigned char *)"abc", 3), SDR_OK);
	EXPECT(SDF_HashFinal(s, plain, &n), SDR_OK);
	CHECK(n == 32 && memcmp(plain, known, 32) == 0); /* GB/T 32905 A.1 */
	const char *msg = "message signed through libmimasdf";
	sm3_z(s, &pub1, msg, e);

	/* internal signature, checked here and by the Go test */
	ECCSignature sig, bad;
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 32, &sig), SDR_OK);
	EXPECT(SDF_InternalVerify_ECC(s, 1, e, 32, &sig), SDR_OK);
	EXPECT(SDF_ExternalVerify_ECC(s, SGD_SM2_1, &pub1, e, 32, &sig), SDR_OK);
	bad = sig;
	bad.s[63] ^= 1;
	EXPECT(SDF_InternalVerify_ECC(s, 1, e, 32, &bad), SDR_VERIFYERR);
	EXPECT(SDF_ExternalVerify_ECC(s, SGD_SM2_1, &pub1, e, 32, &bad), SDR_VERIFYERR);
	EXPECT(SDF_ExternalVerify_ECC(s, SGD_RSA, &pub1, e, 32, &sig), SDR_ALGNOTSUPPORT);
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 31, &sig), SDR_INARGERR);
	EXPECT(SDF_InternalSign_ECC(s, 42, e, 32, &sig), SDR_KEYNOTEXIST);
	EXPECT(SDF_InternalSign_ECC(s, 9, e, 32, &sig), SDR_KEYNOTEXIST);
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 32, NULL), SDR_OUTARGERR);
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 32, &sig), SDR_OK);
	hex("pub", pub1.x + 32, 32);
	hex("puby", pub1.y + 32, 32);
	printf("msg=%s\n", msg);
	hex("sigr", sig.r + 32, 32);
	hex("sigs", sig.s + 32, 32);

	/* access rights */
	const char *signer = getenv("MIMA_SDF_SIGNER");
	EXPECT(SDF_GetPrivateKeyAccessRight(s, 1, (unsigned char *)"not-a-token", 11), SDR_PARDENY);
	EXPECT(SDF_GetPrivateKeyAccessRight(s, 42, (unsigned char *)"x", 1), SDR_KEYNOTEXIST);
	EXPECT(SDF_GetPrivateKeyAccessRight(s, 1, (unsigned char *)signer, strlen(signer)), SDR_OK);
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 32, &bad), SDR_OK);
	EXPECT(SDF_ExternalVerify_ECC(s, SGD_SM2_1, &pub1, e, 32, &bad), SDR_OK);
	EXPECT(SDF_GetPrivateKeyAccessRight(s2, 2, (unsigned char *)signer, strlen(signer)), SDR_OK);
	ECCCipher *c = new_cipher(16), *c2 = new_cipher(16);
	EXPECT(SDF_InternalEncrypt_ECC(s2, 2, SGD_SM2_3, r1, 16, c), SDR_PARDENY); /* the signer may not use key 2 */
	EXPECT(SDF_ReleasePrivateKeyAccessRight(s2, 2), SDR_OK);
	EXPECT(SDF_ReleasePrivateKeyAccessRight(s, 1), SDR_OK);

	/* internal encryption */
	unsigned char out[64];
	EXPECT(SDF_InternalEncrypt_ECC(s, 2, SGD_SM2_3, r1, 16, c), SDR_OK);
	CHECK(c->L == 16);
	EXPECT(SDF_InternalDecrypt_ECC(s, 2, SGD_SM2_3, c, out, &n), SDR_OK);
	CHECK(n == 16 && memcmp(out, r1, 16) == 0);
	EXPECT(SDF_ExternalEncrypt_ECC(s, SGD_SM2_3, &pub2, r2, 16, c2), SDR_OK);
	EXPECT(SDF_InternalDecrypt_ECC(s, 2, SGD_SM2_3, c2, out, &n), SDR_OK);
	CHECK(n == 16 && memcmp(out, r2, 16) == 0);
	c2->C[0] ^= 1;
	EXPECT(SDF_InternalDecrypt_ECC(s, 2, SGD_SM2_3, c2, out, &n), SDR_ENCDATAERR);
	EXPECT(SDF_InternalDecrypt_ECC(s, 2, SGD_RSA, c, out, &n), SDR_ALGNOTSUPPORT);

	/* external key pair */
	ECCrefPublicKey pubB;
	ECCrefPrivateKey privB;
	EXPECT(SDF_GenerateKeyPair_ECC(s, SGD_SM2_1, 256, &pubB, &privB), SDR_OK);
	EXPECT(SDF_GenerateKeyPair_ECC(s, SGD_SM2_1, 512, &pubB, &privB), SDR_INARGERR);
	EXPECT(SDF_GenerateKeyPair_ECC(s, SGD_RSA, 256, &pubB, &privB), SDR_ALGNOTSUPPORT);
	EXPECT(SDF_GenerateKeyPair_ECC(s, SGD_SM2_3, 256, &pubB, &privB), SDR_OK);
	EXPECT(SDF_ExternalSign_ECC(s, SGD_SM2_1, &privB, e, 32, &sig), SDR_OK);
	EXPECT(SDF_ExternalVerify_ECC(s, SGD_SM2_1, &pubB, e, 32, &sig), SDR_OK);
	EXPECT(SDF_ExternalVerify_ECC(s, SGD_SM2_1, &pub1, e, 32, &sig), SDR_VERIFYERR);
	EXPECT(SDF_ExternalEncrypt_ECC(s, SGD_SM2_3, &pubB, r1, 16, c), SDR_OK);
	EXPECT(SDF_ExternalDecrypt_ECC(s, SGD_SM2_3, &privB, c, out, &n), SDR_OK);
	CHECK(n == 16 && memcmp(out, r1, 16) == 0);
	ECCrefPublicKey offcurve = pubB;
	offcurve.y[63] ^= 1;
	EXPECT(SDF_ExternalEncrypt_ECC(s, SGD_SM2_3, &offcurve, r1, 16, c), SDR_KEYERR);

	/* session keys */
	void *k1 = NULL, *k2 = NULL, *k3 = NULL, *k4 = NULL;
	EXPECT(SDF_GenerateKeyWithIPK_ECC(s, 2, 128, c, &k1), SDR_OK);
	EXPECT(SDF_ImportKeyWithISK_ECC(s, 2, c, &k2), SDR_OK);
	same_key(s, k1, k2);
	EXPECT(SDF_GenerateKeyWithIPK_ECC(s, 2, 256, c2, &k3), SDR_INARGERR);
	EXPECT(SDF_GenerateKeyWithIPK_ECC(s, 42, 128, c2, &k3), SDR_KEYNOTEXIST);
	EXPECT(SDF_ImportKeyWithISK_ECC(s, 1, c, &k3), SDR_ENCDATAERR); /* another key */
	EXPECT(SDF_ExchangeDigitEnvelopeBaseOnECC(s, 2, SGD_SM2_3, &pubB, c, c2), SDR_OK);
	EXPECT(SDF_ExternalDecrypt_ECC(s, SGD_SM2_3, &privB, c2, out, &n), SDR_OK);
	CHECK(n == 16);
	EXPECT(SDF_ImportKey(s, out, 16, &k3), SDR_OK);
	same_key(s, k1, k3);
	EXPECT(SDF_ImportKey(s, out, 15, &k4), SDR_KEYERR);
	EXPECT(SDF_GenerateKeyWithEPK_ECC(s, 128, SGD_SM2_3, &pubB, c, &k4), SDR_OK);
	EXPECT(SDF_ExternalDecrypt_ECC(s, SGD_SM2_3, &privB, c, out, &n), SDR_OK);
	EXPECT(SDF_DestroyKey(s, k3), SDR_OK);
	EXPECT(SDF_ImportKey(s, out, n, &k3), SDR_OK);
	same_key(s, k4, k3);
	unsigned char wrapped[128];
	unsigned int wn = 0;
	void *k5 = NULL, *k6 = NULL;
	EXPECT(SDF_GenerateKeyWithKEK(s, 128, SGD_SM4_ECB, 3, wrapped, &wn, &k5), SDR_OK);
	CHECK(wn > 0 && wn < sizeof wrapped);
	EXPECT(SDF_ImportKeyWithKEK(s, SGD_SM4_ECB, 3, wrapped, wn, &k6), SDR_OK);
	same_key(s, k5, k6);
	wrapped[wn - 2] ^= 1;
	EXPECT(SDF_ImportKeyWithKEK(s, SGD_SM4_ECB, 3, wrapped, wn, &k6), SDR_ENCDATAERR);
	EXPECT(SDF_GenerateKeyWithKEK(s, 128, SGD_SM4_ECB, 42, wrapped, &wn, &k6), SDR_KEYNOTEXIST);
	EXPECT(SDF_GenerateKeyWithKEK(s, 128, SGD_RSA, 3, wrapped, &wn, &k6), SDR_ALGNOTSUPPORT);

	/* symmetric: GB/T 32907 A.1, modes, IV chaining, MAC, errors */
	unsigned char key[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef, 0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
	unsigned char ct[16] = {0x68, 0x1e, 0xdf, 0x34, 0xd2, 0x06, 0x96, 0x5e, 0x86, 0xb3, 0xe9, 0x4f, 0x53, 0x6e, 0x42, 0x46};
	void *kv = NULL;
	EXPECT(SDF_ImportKey(s, key, 16, &kv), SDR_OK);
	EXPECT(SDF_Encrypt(s, kv, SGD_SM4_ECB, NULL, key, 16, out, &n), SDR_OK);
	CHECK(n == 16 && memcmp(out, ct, 16) == 0);
	EXPECT(SDF_Decrypt(s, kv, SGD_SM4_ECB, NULL, ct, 16, out, &n), SDR_OK);
	CHECK(n == 16 && memcmp(out, key, 16) == 0);
	unsigned char data[48], whole[48], part[48], back[48], iv[16], mac1[16], mac2[16];
	for (int i = 0; i < 48; i++) data[i] = (unsigned char)i;
	unsigned int modes[] = {SGD_SM4_CBC, SGD_SM4_CTR};
	for (int m = 0; m < 2; m++) {
		memset(iv, 7, 16);
		EXPECT(SDF_Encrypt(s, k1, modes[m], iv, data, 48, whole, &n), SDR_OK);
		memset(iv, 7, 16);
		EXPECT(SDF_Encrypt(s, k1, modes[m], iv, data, 16, part, &n), SDR_OK);
		EXPECT(SDF_Encrypt(s, k1, modes[m], iv, data + 16, 32, part + 16, &n), SDR_OK);
		CHECK(memcmp(whole, part, 48) == 0); /* the IV carries on */
		memset(iv, 7, 16);
		EXPECT(SDF_Decrypt(s, k2, modes[m], iv, whole, 48, back, &n), SDR_OK);
		CHECK(n == 48 && memcmp(back, data, 48) == 0);
	}
	memset(iv, 0, 16);
	EXPECT(SDF_CalculateMAC(s, k1, SGD_SM4_MAC, iv, data, 48, mac1, &n), SDR_OK);
	CHECK(n == 16);
	memset(iv, 0, 16);
	EXPECT(SDF_CalculateMAC(s, k2, SGD_SM4_MAC, iv, data, 48, mac2, &n), SDR_OK);
	CHECK(memcmp(mac1, mac2, 16) == 0);
	memset(iv, 0, 16);
	EXPECT(SDF_Encrypt(s, k1, SGD_SM4_CBC, iv, data, 48, whole, &n), SDR_OK);
	CHECK(memcmp(mac1, whole + 32, 16) == 0); /* CBC-MAC: the last CBC block */
	EXPECT(SDF_CalculateMAC(s, k1, SGD_SM4_CBC, iv, data, 48, mac1, &n), SDR_ALGMODNOTSUPPORT);
	EXPECT(SDF_CalculateMAC(s, k1, SGD_SM4_MAC, iv, data, 47, mac1, &n), SDR_INARGERR);
	EXPECT(SDF_Encrypt(s, k1, SGD_SM4_CBC, iv, data, 15, out, &n), SDR_INARGERR);
	EXPECT(SDF_Encrypt(s, k1, SGD_SM4_OFB, iv, data, 16, out, &n), SDR_ALGMODNOTSUPPORT);
	EXPECT(SDF_Encrypt(s, k1, SGD_SM1_ECB, iv, data, 16, out, &n), SDR_ALGNOTSUPPORT);
	EXPECT(SDF_Encrypt(s, k1, SGD_SM4_CBC, NULL, data, 16, out, &n), SDR_INARGERR);
	EXPECT(SDF_Encrypt(s, (void *)0x1, SGD_SM4_ECB, iv, data, 16, out, &n), SDR_KEYNOTEXIST);
	EXPECT(SDF_Encrypt(s2, k1, SGD_SM4_ECB, iv, data, 16, out, &n), SDR_KEYNOTEXIST); /* another session's key */
	EXPECT(SDF_DestroyKey(s, k1), SDR_OK);
	EXPECT(SDF_Encrypt(s, k1, SGD_SM4_ECB, iv, data, 16, out, &n), SDR_KEYNOTEXIST);
	EXPECT(SDF_DestroyKey(s, k1), SDR_KEYNOTEXIST);

	/* not supported: RSA, key agreement, files */
	RSArefPublicKey rpub;
	EXPECT(SDF_ExportSignPublicKey_RSA(s, 1, &rpub), SDR_NOTSUPPORT);
	EXPECT(SDF_ExportEncPublicKey_RSA(s, 1, &rpub), SDR_NOTSUPPORT);
	EXPECT(SDF_GenerateKeyPair_RSA(s, 2048, &rpub, NULL), SDR_NOTSUPPORT);
	EXPECT(SDF_GenerateKeyWithIPK_RSA(s, 1, 128, out, &n, &k3), SDR_NOTSUPPORT);
	EXPECT(SDF_GenerateKeyWithEPK_RSA(s, 128, &rpub, out, &n, &k3), SDR_NOTSUPPORT);
	EXPECT(SDF_ImportKeyWithISK_RSA(s, 1, out, 16, &k3), SDR_NOTSUPPORT);
	EXPECT(SDF_ExchangeDigitEnvelopeBaseOnRSA(s, 1, &rpub, out, 16, out, &n), SDR_NOTSUPPORT);
	EXPECT(SDF_ExternalPublicKeyOperation_RSA(s, &rpub, out, 16, out, &n), SDR_NOTSUPPORT);
	EXPECT(SDF_InternalPublicKeyOperation_RSA(s, 1, out, 16, out, &n), SDR_NOTSUPPORT);
	EXPECT(SDF_InternalPrivateKeyOperation_RSA(s, 1, out, 16, out, &n), SDR_NOTSUPPORT);
	EXPECT(SDF_GenerateAgreementDataWithECC(s, 1, 128, out, 16, &pub1, &pub2, &k3), SDR_NOTSUPPORT);
	EXPECT(SDF_GenerateKeyWithECC(s, out, 16, &pub1, &pub2, k3, &k3), SDR_NOTSUPPORT);
	EXPECT(SDF_GenerateAgreementDataAndKeyWithECC(s, 1, 128, out, 16, out, 16, &pub1, &pub2, &pub1, &pub2, &k3), SDR_NOTSUPPORT);
	EXPECT(SDF_CreateFile(s, (unsigned char *)"f", 1, 16), SDR_NOTSUPPORT);
	EXPECT(SDF_ReadFile(s, (unsigned char *)"f", 1, 0, &n, out), SDR_NOTSUPPORT);
	EXPECT(SDF_WriteFile(s, (unsigned char *)"f", 1, 0, 16, out), SDR_NOTSUPPORT);
	EXPECT(SDF_DeleteFile(s, (unsigned char *)"f", 1), SDR_NOTSUPPORT);

	free(c);
	free(c2);
	EXPECT(SDF_CloseSession(s), SDR_OK);
	EXPECT(SDF_CloseSession(s), SDR_INARGERR);
	EXPECT(SDF_DestroyKey(s, k2), SDR_INARGERR); /* the session is gone */
	EXPECT(SDF_CloseDevice(dev), SDR_OK);
	EXPECT(SDF_GenerateRandom(s2, 16, r1), SDR_INARGERR); /* closed with its device */
	EXPECT(SDF_CloseDevice(dev), SDR_INARGERR);
}

static void test_revoked(void) {
	void *dev = NULL, *s = NULL;
	unsigned char e[32] = {1};
	ECCSignature sig;
	ECCrefPublicKey pub;
	EXPECT(SDF_OpenDevice(&dev), SDR_OK);
	EXPECT(SDF_OpenSession(dev, &s), SDR_OK);
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 32, &sig), SDR_PARDENY);
	EXPECT(SDF_ExportSignPublicKey_ECC(s, 1, &pub), SDR_PARDENY);
	EXPECT(SDF_GenerateRandom(s, 16, e), SDR_PARDENY);
	EXPECT(SDF_CloseDevice(dev), SDR_OK);
}

static void test_sealed(void) {
	void *dev = NULL, *s = NULL;
	unsigned char e[32] = {1};
	char line[16];
	ECCSignature sig;
	EXPECT(SDF_OpenDevice(&dev), SDR_OK);
	EXPECT(SDF_OpenSession(dev, &s), SDR_OK);
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 32, &sig), SDR_OK);
	printf("ready\n");
	fflush(stdout);
	if (fgets(line, sizeof line, stdin) == NULL) failures++;
	EXPECT(SDF_InternalSign_ECC(s, 1, e, 32, &sig), SDR_HARDFAIL);
	EXPECT(SDF_GenerateRandom(s, 16, e), SDR_HARDFAIL);
	void *dev2 = NULL;
	EXPECT(SDF_OpenDevice(&dev2), SDR_OPENDEVICE);
	EXPECT(SDF_CloseDevice(dev), SDR_OK);
}

/* A worker runs its own session: signatures, SM4 encryptions, or a mix
 * of functions writing into heap buffers of the exact size (for valgrind). */
struct work {
	void *dev;
	int op;     /* 0 sign, 1 encrypt, 2 mix */
	int size;   /* bytes to encrypt */
	long calls; /* -1: until stop */
	long done;
	int errors;
};

static volatile int stop;

/* mix makes call i of the mixed workload; it returns the failures. */
static int mix(void *s, void *k, long i, ECCrefPublicKey *pub, ECCrefPrivateKey *priv) {
	unsigned char e[32] = {5}, iv[16] = {0};
	unsigned char *in = calloc(1, 64), *out = malloc(64), *r = malloc(32);
	ECCCipher *c = new_cipher(16);
	ECCSignature *sig = malloc(sizeof *sig);
	unsigned int n;
	int bad = 0;
	switch (i % 8) {
	case 0: bad += SDF_InternalSign_ECC(s, 1, e, 32, sig) != SDR_OK; break;
	case 1: bad += SDF_Encrypt(s, k, SGD_SM4_CBC, iv, in, 64, out, &n) != SDR_OK || n != 64; break;
	case 2:
		bad += SDF_HashInit(s, SGD_SM3, pub, NULL, 0) != SDR_OK;
		bad += SDF_HashUpdate(s, in, 64) != SDR_OK;
		bad += SDF_HashFinal(s, r, &n) != SDR_OK || n != 32;
		break;
	case 3: bad += SDF_GenerateRandom(s, 32, r) != SDR_OK; break;
	case 4:
		bad += SDF_ExternalEncrypt_ECC(s, SGD_SM2_3, pub, in, 16, c) != SDR_OK;
		bad += SDF_ExternalDecrypt_ECC(s, SGD_SM2_3, priv, c, out, &n) != SDR_OK || n != 16;
		break;
	case 5: bad += SDF_Encrypt(s, (void *)0x10, SGD_SM4_ECB, iv, in, 64, out, &n) != SDR_KEYNOTEXIST; break;
	case 6: bad += SDF_ExternalSign_ECC(s, SGD_SM2_1, priv, e, 32, sig) != SDR_OK; break;
	case 7: bad += SDF_CalculateMAC(s, k, SGD_SM4_MAC, iv, in, 64, r, &n) != SDR_OK || n != 16; break;
	}
	free(in);
	free(out);
	free(r);
	free(c);
	free(sig);
	return bad;
}

static void *worker(void *arg) {
	struct work *w = arg;
	void *s = NULL, *k = NULL;
	unsigned char e[32], iv[16] = {0}, *in = calloc(1, 4096), *out = malloc(4096), key[16] = {9};
	unsigned int n;
	ECCSignature sig;
	ECCrefPublicKey pub;
	ECCrefPrivateKey priv;
	if (SDF_OpenSession(w->dev, &s) != SDR_OK || SDF_ImportKey(s, key, 16, &k) != SDR_OK ||
	    SDF_GenerateKeyPair_ECC(s, SGD_SM2, 256, &pub, &priv) != SDR_OK) {
		w->errors++;
		return NULL;
	}
	memset(e, 3, sizeof e);
	for (w->done = 0; w->calls < 0 ? !stop : w->done < w->calls; w->done++) {
		if (w->op == 0)
			w->errors += SDF_InternalSign_ECC(s, 1, e, 32, &sig) != SDR_OK;
		else if (w->op == 1)
			w->errors += SDF_Encrypt(s, k, SGD_SM4_CBC, iv, in, w->size, out, &n) != SDR_OK;
		else
			w->errors += mix(s, k, w->done, &pub, &priv);
	}
	SDF_DestroyKey(s, k);
	SDF_CloseSession(s);
	free(in);
	free(out);
	return NULL;
}

/* run starts 8 workers; secs > 0 runs them that long and prints calls/s. */
static void run(void *dev, int op, int size, long calls, int secs, const char *label) {
	pthread_t t[8];
	struct work w[8];
	struct timespec a, b;
	stop = 0;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (int i = 0; i < 8; i++) {
		w[i] = (struct work){.dev = dev, .op = op, .size = size, .calls = secs > 0 ? -1 : calls};
		pthread_create(&t[i], NULL, worker, &w[i]);
	}
	if (secs > 0) {
		struct timespec d = {.tv_sec = secs};
		nanosleep(&d, NULL);
		stop = 1;
	}
	long total = 0;
	for (int i = 0; i < 8; i++) {
		pthread_join(t[i], NULL);
		total += w[i].done;
		failures += w[i].errors;
	}
	clock_gettime(CLOCK_MONOTONIC, &b);
	double el = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
	if (secs > 0) printf("%s %.0f\n", label, (double)total / el);
}

int main(int argc, char **argv) {
	if (argc < 2) {
		fprintf(stderr, "usage: sdftest all|revoked|sealed|loop N|bench SECS [sign|encrypt64|encrypt4k]\n");
		return 2;
	}
	if (strcmp(argv[1], "all") == 0) {
		test_all();
	} else if (strcmp(argv[1], "revoked") == 0) {
		test_revoked();
	} else if (strcmp(argv[1], "sealed") == 0) {
		test_sealed();
	} else if ((argc == 3 && strcmp(argv[1], "loop") == 0) || ((argc == 3 || argc == 4) && strcmp(argv[1], "bench") == 0)) {
		void *dev = NULL;
		int bench = strcmp(argv[1], "bench") == 0;
		long n = atol(argv[2]);
		const char *op = argc == 4 ? argv[3] : NULL;
		EXPECT(SDF_OpenDevice(&dev), SDR_OK);
		if (bench) {
			if (!op || strcmp(op, "sign") == 0) run(dev, 0, 0, 0, (int)n, "sign");
			if (!op || strcmp(op, "encrypt64") == 0) run(dev, 1, 64, 0, (int)n, "encrypt64");
			if (!op || strcmp(op, "encrypt4k") == 0) run(dev, 1, 4096, 0, (int)n, "encrypt4k");
		} else {
			run(dev, 2, 0, n / 8, 0, "");
		}
		EXPECT(SDF_CloseDevice(dev), SDR_OK);
	} else {
		fprintf(stderr, "unknown mode %s\n", argv[1]);
		return 2;
	}
	if (failures > 0) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	return 0;
}
