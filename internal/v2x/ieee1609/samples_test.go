package ieee1609

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mimacrypto/mima/internal/v2x/coer"
)

// sampleTypes gives the type each sample in testdata/coer holds (source:
// OpenSCMS, see testdata/coer/README.md).
var sampleTypes = map[string]func() any{
	"CertManagementPdu.dat":                      func() any { return new(ScmsPdu) },
	"CertificateManagementInfoStatusSpdu.dat":    func() any { return new(Data) },
	"DecryptedEeRaCertRequestSpdu.dat":           func() any { return new(Data) },
	"EeEcaCertRequestSpdu.dat":                   func() any { return new(Data) },
	"EeRaCertRequest.dat":                        func() any { return new(Data) },
	"EeRaSuccessorEnrollmentCertRequestSpdu.dat": func() any { return new(Data) },
	"EncryptedEeEcaCertRequestSpdu.dat":          func() any { return new(Data) },
	"OscmsCertificateChainFile.dat":              func() any { return new(ScmsPdu) },
	"OscmsCertificateChainFileSpdu.dat":          func() any { return new(Data) },
	"RaCertificate.dat":                          func() any { return new(Certificate) },
	"composite-crl-file.dat":                     func() any { return new(Data) },
	"composite-crl-scms-pdu.dat":                 func() any { return new(ScmsPdu) },
}

// flatSamples carry no nested encoding: a certificate, the status
// message, and two requests encrypted to an RA.
var flatSamples = map[string]struct{}{
	"RaCertificate.dat": {}, "CertManagementPdu.dat": {},
	"EeRaCertRequest.dat": {}, "EeRaSuccessorEnrollmentCertRequestSpdu.dat": {},
}

// TestSamplesRoundTrip decodes every sample, and every nested encoding it
// carries as an octet string or open type, and re-encodes each byte for
// byte.
func TestSamplesRoundTrip(t *testing.T) {
	files, err := filepath.Glob("testdata/coer/*.dat")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(sampleTypes) {
		t.Fatalf("%d samples, %d known types", len(files), len(sampleTypes))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			v := sampleTypes[filepath.Base(f)]()
			w := &walker{t: t}
			w.roundTrip("sample", b, v)
			if _, flat := flatSamples[filepath.Base(f)]; w.nested == 0 && !flat {
				t.Errorf("no nested encoding was checked")
			}
		})
	}
}

// walker round-trips an encoding and the encodings nested in it.
type walker struct {
	t      *testing.T
	nested int
}

func (w *walker) roundTrip(what string, b []byte, v any) {
	w.t.Helper()
	if err := coer.Unmarshal(b, v); err != nil {
		w.t.Fatalf("%s: decoding %T: %v", what, v, err)
	}
	out, err := coer.Marshal(v)
	if err != nil {
		w.t.Fatalf("%s: encoding %T: %v", what, v, err)
	}
	if !bytes.Equal(out, b) {
		w.t.Fatalf("%s: %T does not round-trip:\n got %x\nwant %x", what, v, out, b)
	}
	if path := unknownIn(reflect.ValueOf(v), what); path != "" {
		w.t.Errorf("%s holds an extension the types do not know", path)
	}
	w.inner(what, v)
}

// inner visits what v carries encoded inside it.
func (w *walker) inner(what string, v any) {
	switch v := v.(type) {
	case *Data:
		w.data(what, v, func() any { return new(ScmsPdu) })
	case *SignedCertificateRequest:
		w.inner(what+".tbsRequest", &v.TbsRequest)
	case *ScmsPdu:
		switch c := v.Content; {
		case c.Cert != nil && c.Cert.CompositeCrl != nil:
			for _, crl := range c.Cert.CompositeCrl.Crl {
				w.data(what+".crl", &crl, func() any { return new(CrlContents) })
			}
			w.inner(what+".homeCtl", &c.Cert.CompositeCrl.HomeCtl)
		case c.Cert != nil && c.Cert.CertificateChain != nil:
			w.inner(what+".homeCtl", &c.Cert.CertificateChain.HomeCtl)
		case c.Cert != nil && c.Cert.MultiSignedCtl != nil:
			m := c.Cert.MultiSignedCtl
			w.nested++
			w.roundTrip(what+".tbsCtl", m.TbsCtl, new(FullIeeeTbsCtl))
			var certs []Certificate
			w.roundTrip(what+".unsigned", m.Unsigned, &certs)
			for _, s := range m.Signatures {
				w.inner(what+".signature", &s)
			}
		case c.EeRa != nil && c.EeRa.EeRaSuccessorEnrollmentCertRequest != nil:
			w.inner(what+".successor", c.EeRa.EeRaSuccessorEnrollmentCertRequest)
		}
	}
}

// data visits a Data whose unsecured content (directly or signed) is of
// the type payload makes.
func (w *walker) data(what string, d *Data, payload func() any) {
	c := d.Content
	switch {
	case c.UnsecuredData != nil:
		w.nested++
		w.roundTrip(what+".unsecuredData", c.UnsecuredData, payload())
	case c.SignedCertificateRequest != nil:
		w.nested++
		w.roundTrip(what+".signedCertificateRequest", c.SignedCertificateRequest, new(SignedCertificateRequest))
	case c.SignedData != nil && c.SignedData.TbsData.Payload.Data != nil:
		w.data(what+".signedData", c.SignedData.TbsData.Payload.Data, payload)
	}
}

// unknownIn returns the path of a set Unknown field within v, or "": a
// sample that decodes into Unknown would round-trip without being
// understood.
func unknownIn(v reflect.Value, path string) string {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			return unknownIn(v.Elem(), path)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			if p := unknownIn(v.Index(i), path); p != "" {
				return p
			}
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			if f.Name == "Unknown" && !v.Field(i).IsZero() {
				return path + ".Unknown"
			}
			if p := unknownIn(v.Field(i), path+"."+f.Name); p != "" {
				return p
			}
		}
	}
	return ""
}
