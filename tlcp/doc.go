// Package tlcp implements TLCP, the Transport Layer Cryptography Protocol
// of GB/T 38636-2020 (protocol version 0x0101, formerly GM/T 0024-2014),
// in the manner of crypto/tls. The SM2, SM3 and SM4 primitives and X.509
// handling come from github.com/emmansun/gmsm; this package implements the
// protocol only.
//
// # API
//
// Server, Client, Listen, NewListener, Dial and DialWithDialer mirror
// crypto/tls; *Conn is a net.Conn with Handshake, HandshakeContext and
// ConnectionState. A Config holds the dual Certificate (signing and
// encryption certificates with crypto.Signer / crypto.Decrypter keys, so
// HSM or key-service keys work), root pools, client authentication policy,
// session caches, a VerifyPeerCertificate hook for revocation, and an
// injectable Rand and Time. IsTLCPClientHello and NewSniffingListener serve
// TLCP and TLS on one port.
//
// # Cipher suites and records
//
// ECC_SM4_CBC_SM3 (0xE013), ECC_SM4_GCM_SM3 (0xE053), ECDHE_SM4_CBC_SM3
// (0xE011) and ECDHE_SM4_GCM_SM3 (0xE051), GB/T 38636-2020 6.4.5.2.1. CBC
// records are IV || SM4-CBC(fragment || HMAC-SM3 || padding) with a random
// explicit IV per record, the MAC over seq_num || type || version ||
// length || fragment (the client/server_write_IV of the key block is
// derived but, as in TLS 1.1+, unused). GCM records are nonce_explicit ||
// SM4-GCM(fragment), with nonce = write_IV (4 bytes) || nonce_explicit
// (8 bytes, the sequence number) and the same 13 bytes as additional data.
// Plaintext fragments are at most 2^14 bytes and records at most
// 2^14+2048; larger ones get record_overflow, records that fail
// authentication bad_record_mac, without telling padding from MAC errors.
//
// The PRF is the TLS 1.2 P_hash with HMAC-SM3; the master secret is
// PRF(pre_master_secret, "master secret", client_random || server_random)
// [0..47] (6.5.1), the key block PRF(master_secret, "key expansion",
// server_random || client_random) (6.5.2), and verify_data
// PRF(master_secret, finished_label, SM3(handshake_messages))[0..11]
// (6.4.5.10).
//
// # ECC key exchange
//
// The server sends its signing certificate first and its encryption
// certificate second (6.4.5.3). ServerKeyExchange (6.4.5.4) carries
// signature<1..2^16-1>: the SM2 signature, with the signing key and the
// default user ID 1234567812345678, of client_random || server_random ||
// ASN.1Cert of the encryption certificate, that is the certificate DER
// preceded by its 3-byte length (tjfoc's gmtls signs the same bytes; the
// interop tests check it). The
// client draws pre_master_secret = 0x0101 || 46 random bytes, encrypts it
// with SM2 to the encryption certificate's key and sends the GM/T 0009
// ASN.1 ciphertext as ECCEncryptedPreMasterSecret<0..2^16-1> (6.4.5.8).
// The server decrypts with the encryption key; a ciphertext that fails to
// decrypt or holds the wrong length or version silently becomes a random
// pre-master secret, so the failure shows only at Finished.
//
// # ECDHE key exchange
//
// ECDHE uses the SM2 key exchange protocol of GB/T 32918.3 with both
// parties' encryption keys as static keys, so the client must present its
// dual certificates: a server only selects ECDHE when its ClientAuth asks
// for certificates, and fails the handshake if the client sends no
// encryption certificate. The server draws an ephemeral SM2 key and sends
// ServerECDHParams = ECParameters (curve_type named_curve 3, curve 41) ||
// ECPoint<1..2^8-1> (uncompressed), followed by the SM2 signature of
// client_random || server_random || ServerECDHParams. The standard fixes
// the curve to SM2 and lets receivers ignore the curve identifier, which
// this package does. The client answers with ClientECDHParams of the same
// form. GB/T 38636-2020 6.4.5.8 writes the ClientKeyExchange as
//
//	select (KeyExchangeAlgorithm) {
//	    case ECDHE: opaque ClientECDHParams<1..2^16-1>;
//	    ...
//	} exchange_keys;
//
// that is, with a 2-byte length before ECParameters || ECPoint, while the
// widely deployed open-source TLCP servers (Tongsuo among them) send and expect
// ECParameters || ECPoint with no length, and abort on the prefixed form
// ("length mismatch"). The client sends the unprefixed form by default so
// that it reaches them; Config.ECDHEPrefixedClientParams restores the
// standard's written form. The server accepts both: the unprefixed form
// starts with curve_type 3, the prefixed one with a length's high byte 0.
// The golden transcripts pin both. The server is the initiator A
// and the client the responder B (as in Tongsuo): with static keys dA/dB
// (the encryption keys), ephemeral keys rA/rB and default IDs, both sides
// compute U = V per GB/T 32918.3-2016 section 6 and pre_master_secret =
// KDF(xU || yU || ZA || ZB, 384 bits), 48 bytes like the ECC pre-master
// secret; the optional confirmation hashes S1, SB, S2, SA are not sent, as
// Finished confirms the key. A test checks the derivation against tjfoc's
// independent sm2.KeyExchangeA.
//
// # Authentication
//
// CertificateVerify (6.4.5.9) is the SM2 signature, with the client's
// signing key and default user ID, of SM3(handshake_messages). The client
// verifies the server's signing certificate with smx509 against RootCAs
// and ServerName, and its encryption certificate against the same roots;
// the server verifies client certificates against ClientCAs. The signing
// certificate must have digitalSignature key usage, the encryption
// certificate keyEncipherment (ECC) or keyAgreement (ECDHE); an encryption
// certificate sent first is reported as a wrong certificate order.
// Verification failures map to certificate_expired, unknown_ca or
// bad_certificate; a VerifyPeerCertificate error wrapping
// ErrCertificateRevoked to certificate_revoked.
//
// # Sessions, alerts, renegotiation
//
// Sessions are resumed by session ID (6.4.5.2.1) from a bounded LRU cache
// on each side, within Config.SessionLifetime of the full handshake; a
// session whose connection fails is dropped. Fatal alerts end the
// connection; warnings other than close_notify are ignored, close_notify
// makes Read return io.EOF and Close sends it. Renegotiation is refused: a
// client answers HelloRequest, and a server a ClientHello after the
// handshake, with the no_renegotiation warning and the connection then
// fails with an error wrapping it.
//
// # Interoperability
//
// Tests run the ECC_SM4_CBC_SM3 handshake, with and without client
// authentication, in both directions against github.com/tjfoc/gmsm v1.4.1
// gmtls. Its client verifies both server leaf certificates, the
// encryption certificate included, as server certificates for ServerName,
// so an encryption certificate needs the server's DNS name too; its
// client sends only its signing certificate for client authentication; it
// resumes through session tickets only and implements neither the GCM
// suites nor ECDHE.
package tlcp
