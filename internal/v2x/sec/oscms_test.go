package sec

import (
	"os"
	"testing"

	"github.com/mimacrypto/mima/internal/v2x/coer"
	"github.com/mimacrypto/mima/internal/v2x/ieee1609"
)

func readCOER(t *testing.T, file string, v any) {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	if err != nil {
		t.Fatal(err)
	}
	if err := coer.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

// oscmsCerts are the certificates of the OSCMS samples: the roots of
// the home CTL, the chain file's others, and the RA certificate.
func oscmsCerts(t *testing.T) []ieee1609.Certificate {
	var pdu ieee1609.ScmsPdu
	readCOER(t, "OscmsCertificateChainFile.dat", &pdu)
	chain := pdu.Content.Cert.CertificateChain
	var home ieee1609.ScmsPdu
	if err := coer.Unmarshal(chain.HomeCtl.Content.UnsecuredData, &home); err != nil {
		t.Fatal(err)
	}
	var certs []ieee1609.Certificate
	if err := coer.Unmarshal(home.Content.Cert.MultiSignedCtl.Unsigned, &certs); err != nil {
		t.Fatal(err)
	}
	var ra ieee1609.Certificate
	readCOER(t, "RaCertificate.dat", &ra)
	return append(append(certs, chain.Others...), ra)
}

// TestOSCMSSignatures verifies every certificate of a real SCMS (OpenSCMS,
// ECDSA P-256, SHA-256) under its issuer, found by our HashedId8: it
// checks the whole-certificate hash with its canonical x-only r, and the
// signing input H(H(tbs) || H(signer)) of IEEE 1609.2-2022 5.3.1, against
// code we did not write.
func TestOSCMSSignatures(t *testing.T) {
	certs := oscmsCerts(t)
	byID := map[ieee1609.HashedId8]*ieee1609.Certificate{}
	for i := range certs {
		id, err := HashedID8(&certs[i])
		if err != nil {
			t.Fatal(err)
		}
		byID[id] = &certs[i]
	}
	selfSigned, issued := 0, 0
	for i := range certs {
		c := &certs[i]
		if c.Signature.EcdsaBrainpoolP384r1Signature != nil {
			// The three elector certificates use brainpoolP384r1, which
			// neither Go nor gmsm offers; mima does not verify them.
			continue
		}
		var issuer *ieee1609.Certificate
		if id, ok := IssuerDigest(c); ok {
			if issuer = byID[id]; issuer == nil {
				t.Fatalf("certificate %d: issuer %x not among the samples", i, id)
			}
			issued++
		} else {
			selfSigned++
		}
		if err := IEEE.CheckCertSignature(c, issuer); err != nil {
			t.Errorf("certificate %d: %v", i, err)
		}
		// A changed bit breaks it.
		bad := *c
		bad.ToBeSigned.CrlSeries ^= 1
		if err := IEEE.CheckCertSignature(&bad, issuer); err == nil {
			t.Errorf("certificate %d: verified after tampering", i)
		}
	}
	if selfSigned != 2 || issued != 9 {
		t.Fatalf("%d self-signed and %d issued certificates checked", selfSigned, issued)
	}
}

// TestOSCMSSignedData verifies the signed samples: a self-signed EE–ECA
// request and a signed certificate management status.
func TestOSCMSSignedData(t *testing.T) {
	certs := oscmsCerts(t)
	byID := map[ieee1609.HashedId8]*ieee1609.Certificate{}
	for i := range certs {
		id, _ := HashedID8(&certs[i])
		byID[id] = &certs[i]
	}
	signerOf := func(sd *ieee1609.SignedData) *ieee1609.Certificate {
		t.Helper()
		switch s := sd.Signer; {
		case len(s.Certificate) == 1:
			return &s.Certificate[0]
		case s.Digest != nil && byID[*s.Digest] != nil:
			return byID[*s.Digest]
		}
		t.Fatalf("signer %+v not found", sd.Signer)
		return nil
	}

	var req ieee1609.Data
	readCOER(t, "EeEcaCertRequestSpdu.dat", &req)
	var scr ieee1609.SignedCertificateRequest
	if err := coer.Unmarshal(req.Content.SignedCertificateRequest, &scr); err != nil {
		t.Fatal(err)
	}
	if _, err := IEEE.VerifyRequest(&scr); err != nil {
		t.Errorf("self-signed EE-ECA request: %v", err)
	}
	scr.TbsRequest.Content.EcaEe.EeEcaCertRequest.GenerationTime++
	if _, err := IEEE.VerifyRequest(&scr); err == nil {
		t.Error("a tampered request verified")
	}

	var status ieee1609.Data
	readCOER(t, "CertificateManagementInfoStatusSpdu.dat", &status)
	sd := status.Content.SignedData
	if err := IEEE.VerifySignedData(sd, signerOf(sd)); err != nil {
		t.Errorf("status: %v", err)
	}

	// The composite CRL sample's signatures verify under no signing input
	// we tried (its signer's issuer is not among the samples either): it is
	// test material, used for its encoding only.
}
