// Package ieee1609 declares the data structures of IEEE 1609.2-2022 (secured
// data, certificates, CRLs) and IEEE 1609.2.1-2020 (SCMS messages, certificate
// management) as Go types that package coer encodes and decodes. It holds
// the shapes and the few rules of the standards that need no keys (time
// bases, hashed identifiers); the cryptography lives in package sec.
package ieee1609
