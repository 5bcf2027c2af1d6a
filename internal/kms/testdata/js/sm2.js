// sm2.js runs npm sm-crypto for the interoperability tests of
// internal/kms (smcrypto_test.go). Every argument and result is hex; a
// result is printed on stdout.
//
//	node sm2.js keygen                   -> {"privateKey": d, "publicKey": 04||x||y}
//	node sm2.js verify <msg> <sig> <pub> -> true | false (DER signature, SM3
//	                                        with Z_A, default user id)
//	node sm2.js sign <msg> <priv>        -> DER signature, as verify checks
//	node sm2.js encrypt <msg> <pub>      -> C1 || C3 || C2 without the 04 of C1
//	node sm2.js decrypt <ct> <priv>      -> plaintext; <ct> is C1 || C3 || C2
//	                                        without the 04 of C1
//	node sm2.js envelope <priv> <pub>    -> GB/T 35276 SM2EnvelopedKey (DER) of
//	                                        the key pair <priv> for the
//	                                        wrapping key <pub>
'use strict'

const { sm2, sm4 } = require('sm-crypto')
const crypto = require('crypto')

const C1C3C2 = 1
const hexToBytes = (h) => Array.from(Buffer.from(h, 'hex'))
const bytesToHex = (b) => Buffer.from(b).toString('hex')

// der encodes one DER element: tag, length, content (byte arrays).
function der(tag, content) {
  const n = content.length
  let len
  if (n < 0x80) len = [n]
  else if (n < 0x100) len = [0x81, n]
  else len = [0x82, n >> 8, n & 0xff]
  return [tag, ...len, ...content]
}

// derInteger encodes a non-negative big-endian integer minimally.
function derInteger(bytes) {
  let i = 0
  while (i < bytes.length - 1 && bytes[i] === 0) i++
  const v = bytes.slice(i)
  return der(0x02, v[0] & 0x80 ? [0, ...v] : v)
}

// sm2CipherASN1 encrypts msg to pub and returns the GM/T 0009 SM2Cipher
// SEQUENCE { x INTEGER, y INTEGER, hash OCTET STRING, ciphertext OCTET STRING }.
function sm2CipherASN1(msg, pub) {
  const ct = hexToBytes(sm2.doEncrypt(msg, pub, C1C3C2))
  const x = ct.slice(0, 32)
  const y = ct.slice(32, 64)
  const hash = ct.slice(64, 96)
  const c2 = ct.slice(96)
  return der(0x30, [...derInteger(x), ...derInteger(y), ...der(0x04, hash), ...der(0x04, c2)])
}

// envelope builds SM2EnvelopedKey ::= SEQUENCE { symAlgID
// AlgorithmIdentifier (SM4-ECB 1.2.156.10197.1.104.1, NULL), symEncryptedKey
// SM2Cipher, sm2PublicKey BIT STRING, sm2EncryptedPrivateKey BIT STRING }.
function envelope(priv, pub) {
  const sm4Key = Array.from(crypto.randomBytes(16))
  const oidSM4ECB = [0x06, 0x08, 0x2a, 0x81, 0x1c, 0xcf, 0x55, 0x01, 0x68, 0x01]
  const symAlgID = der(0x30, [...oidSM4ECB, 0x05, 0x00])
  const encPriv = sm4.encrypt(hexToBytes(priv), sm4Key, { padding: 'none', output: 'array' })
  const pairPub = hexToBytes(sm2.getPublicKeyFromPrivateKey(priv))
  return der(0x30, [
    ...symAlgID,
    ...sm2CipherASN1(sm4Key, pub),
    ...der(0x03, [0, ...pairPub]),
    ...der(0x03, [0, ...encPriv]),
  ])
}

const [cmd, ...args] = process.argv.slice(2)
switch (cmd) {
  case 'keygen':
    console.log(JSON.stringify(sm2.generateKeyPairHex()))
    break
  case 'verify':
    console.log(String(sm2.doVerifySignature(hexToBytes(args[0]), args[1], args[2], { der: true, hash: true })))
    break
  case 'sign':
    console.log(sm2.doSignature(hexToBytes(args[0]), args[1], { der: true, hash: true }))
    break
  case 'encrypt':
    console.log(sm2.doEncrypt(hexToBytes(args[0]), args[1], C1C3C2))
    break
  case 'decrypt':
    console.log(bytesToHex(sm2.doDecrypt(args[0], args[1], C1C3C2, { output: 'array' })))
    break
  case 'envelope':
    console.log(bytesToHex(envelope(args[0], args[1])))
    break
  default:
    console.error(`unknown command ${cmd}`)
    process.exit(2)
}
