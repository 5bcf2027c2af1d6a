import java.io.IOException;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Security;
import java.security.spec.ECGenParameterSpec;
import java.util.Arrays;
import java.util.Collection;
import java.util.Date;
import java.util.HashSet;
import java.util.List;

import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.ess.ESSCertIDv2;
import org.bouncycastle.asn1.ess.SigningCertificateV2;
import org.bouncycastle.asn1.gm.GMObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.CMSSignatureAlgorithmNameGenerator;
import org.bouncycastle.cms.CMSSignedData;
import org.bouncycastle.cms.CMSSignedDataGenerator;
import org.bouncycastle.cms.DefaultCMSSignatureAlgorithmNameGenerator;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.SignerInformationVerifier;
import org.bouncycastle.cms.jcajce.JcaSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.ContentSigner;
import org.bouncycastle.operator.DefaultSignatureAlgorithmIdentifierFinder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;
import org.bouncycastle.tsp.TSPValidationException;
import org.bouncycastle.tsp.TimeStampRequest;
import org.bouncycastle.tsp.TimeStampRequestGenerator;
import org.bouncycastle.tsp.TimeStampResponse;
import org.bouncycastle.tsp.TimeStampResponseGenerator;
import org.bouncycastle.tsp.TimeStampToken;
import org.bouncycastle.tsp.TimeStampTokenGenerator;
import org.bouncycastle.tsp.TimeStampTokenInfo;
import org.bouncycastle.util.io.pem.PemObject;
import org.bouncycastle.util.io.pem.PemWriter;

/**
 * Checks mima's CMS output with BouncyCastle (SM3withSM2, identity
 * 1234567812345678), and makes CMS and timestamps for mima to check.
 * Usage: CmsCheck DIR.
 *
 * It reads from DIR content.bin (the signed content), gm.p7 (GM/T 0010
 * OIDs), rfc.p7 (RFC 5652 OIDs, with a signature timestamp and a
 * countersignature), detached.p7 (detached, over content.bin), ts.tsq and
 * ts.tsr (a timestamp request and mima's answer), and prints one "OK"
 * line per check, exiting with status 1 at the first failure. It then
 * writes, from an SM2 key pair and self-signed certificates of its own,
 * bc-ca.pem and bc-signed.p7 (BER, attached), bc-detached.p7, and
 * bc-tsa.pem and bc.tsr (a timestamp over the SM3 hash of content.bin,
 * nonce 42, policy 1.2.3.4.1).
 */
public final class CmsCheck {
    private static final ASN1ObjectIdentifier SM2_SIGN = new ASN1ObjectIdentifier("1.2.156.10197.1.301.1");

    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        Path dir = Paths.get(args[0]);
        byte[] content = Files.readAllBytes(dir.resolve("content.bin"));

        for (String name : new String[] {"gm.p7", "rfc.p7"}) {
            CMSSignedData sd = new CMSSignedData(Files.readAllBytes(dir.resolve(name)));
            byte[] signed = (byte[]) sd.getSignedContent().getContent();
            check(Arrays.equals(signed, content), name + ": the content differs");
            String extra = "";
            for (SignerInformation si : sd.getSignerInfos().getSigners()) {
                verify(sd, si, name);
                for (SignerInformation cs : si.getCounterSignatures().getSigners()) {
                    verify(sd, cs, name + " countersignature");
                    extra += ", countersignature OK";
                }
                Attribute ts = si.getUnsignedAttributes() == null ? null
                        : si.getUnsignedAttributes().get(PKCSObjectIdentifiers.id_aa_signatureTimeStampToken);
                if (ts != null) {
                    TimeStampToken tok = new TimeStampToken(
                            new CMSSignedData(ts.getAttrValues().getObjectAt(0).toASN1Primitive().getEncoded()));
                    byte[] imprint = MessageDigest.getInstance("SM3", "BC").digest(si.getSignature());
                    check(Arrays.equals(tok.getTimeStampInfo().getMessageImprintDigest(), imprint),
                            name + ": the signature timestamp is not over the signature");
                    extra += ", signature timestamp " + checkToken(tok, name);
                }
            }
            System.out.println("cms OK: " + name + " " + sd.getSignerInfos().size() + " signer(s), "
                    + sd.getSignerInfos().getSigners().iterator().next().getEncryptionAlgOID() + extra);
        }

        CMSSignedData detached = new CMSSignedData(new CMSProcessableByteArray(content),
                Files.readAllBytes(dir.resolve("detached.p7")));
        for (SignerInformation si : detached.getSignerInfos().getSigners()) {
            verify(detached, si, "detached.p7");
        }
        System.out.println("cms OK: detached.p7");

        TimeStampRequest req = new TimeStampRequest(Files.readAllBytes(dir.resolve("ts.tsq")));
        TimeStampResponse resp = new TimeStampResponse(Files.readAllBytes(dir.resolve("ts.tsr")));
        check(resp.getStatus() == 0, "ts.tsr: status " + resp.getStatus());
        TimeStampToken tok = resp.getTimeStampToken();
        TimeStampTokenInfo info = tok.getTimeStampInfo();
        check(info.getNonce().equals(req.getNonce()), "ts.tsr: the nonce is not echoed");
        check(Arrays.equals(info.getMessageImprintDigest(), req.getMessageImprintDigest()), "ts.tsr: imprint");
        System.out.println("tsr OK: granted, serial " + info.getSerialNumber() + ", policy " + info.getPolicy()
                + ", nonce " + info.getNonce() + ", " + info.getMessageImprintAlgOID() + ", " + checkToken(tok, "ts.tsr"));

        make(dir, content);
    }

    /** Verifies a signer with the certificate the SignedData holds for it. */
    private static void verify(CMSSignedData sd, SignerInformation si, String what) throws Exception {
        Collection<?> matches = sd.getCertificates().getMatches(si.getSID());
        check(matches.size() == 1, what + ": no certificate for the signer");
        X509CertificateHolder cert = (X509CertificateHolder) matches.iterator().next();
        check(si.verify(verifier(cert)), what + ": the signature does not verify");
    }

    /**
     * A verifier for SM3withSM2 that also knows GM/T 0010's signature
     * algorithm OID sm2-1 (1.2.156.10197.1.301.1), which BouncyCastle
     * 1.72's name generator does not.
     */
    private static SignerInformationVerifier verifier(X509CertificateHolder cert) throws Exception {
        CMSSignatureAlgorithmNameGenerator names = new CMSSignatureAlgorithmNameGenerator() {
            private final DefaultCMSSignatureAlgorithmNameGenerator base = new DefaultCMSSignatureAlgorithmNameGenerator();

            @Override
            public String getSignatureName(AlgorithmIdentifier digest, AlgorithmIdentifier encryption) {
                if (encryption.getAlgorithm().equals(SM2_SIGN) && digest.getAlgorithm().equals(GMObjectIdentifiers.sm3)) {
                    return "SM3WITHSM2";
                }
                return base.getSignatureName(digest, encryption);
            }
        };
        return new SignerInformationVerifier(names, new DefaultSignatureAlgorithmIdentifierFinder(),
                new JcaContentVerifierProviderBuilder().setProvider("BC").build(cert),
                new JcaDigestCalculatorProviderBuilder().setProvider("BC").build());
    }

    /**
     * Checks a token's signature and its ESSCertIDv2 by hand, then runs
     * TimeStampToken.validate, whose verdict it reports: validate also
     * demands a critical extended key usage.
     */
    private static String checkToken(TimeStampToken tok, String what) throws Exception {
        Collection<?> matches = tok.getCertificates().getMatches(tok.getSID());
        check(matches.size() == 1, what + ": the token has no TSA certificate");
        X509CertificateHolder cert = (X509CertificateHolder) matches.iterator().next();
        SignerInformationVerifier v = new JcaSimpleSignerInfoVerifierBuilder().setProvider("BC").build(cert);
        check(tok.isSignatureValid(v), what + ": the token's signature does not verify");
        Attribute attr = tok.getSignedAttributes().get(PKCSObjectIdentifiers.id_aa_signingCertificateV2);
        check(attr != null, what + ": no signing-certificate-v2");
        ESSCertIDv2 id = SigningCertificateV2.getInstance(attr.getAttrValues().getObjectAt(0)).getCerts()[0];
        String alg = id.getHashAlgorithm().getAlgorithm().equals(GMObjectIdentifiers.sm3) ? "SM3" : "SHA-256";
        check(Arrays.equals(id.getCertHash(), MessageDigest.getInstance(alg, "BC").digest(cert.getEncoded())),
                what + ": the ESSCertIDv2 hash is not the TSA certificate's");
        String verdict;
        try {
            tok.validate(v);
            verdict = "validate OK";
        } catch (TSPValidationException e) {
            verdict = "validate refused: " + e.getMessage();
        }
        return "signature and ESSCertIDv2 (" + alg + ") OK, " + verdict;
    }

    /** Writes BouncyCastle's own SignedData and timestamp for mima. */
    private static void make(Path dir, byte[] content) throws Exception {
        KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", "BC");
        kpg.initialize(new ECGenParameterSpec("sm2p256v1"));
        KeyPair ca = kpg.generateKeyPair();
        X509CertificateHolder caCert = selfSigned(ca, "CN=BC Signer", false);
        CMSSignedDataGenerator gen = new CMSSignedDataGenerator();
        gen.addSignerInfoGenerator(new JcaSignerInfoGeneratorBuilder(
                new JcaDigestCalculatorProviderBuilder().setProvider("BC").build()).build(signer(ca), caCert));
        gen.addCertificates(new JcaCertStore(List.of(caCert)));
        Files.write(dir.resolve("bc-signed.p7"), gen.generate(new CMSProcessableByteArray(content), true).getEncoded());
        Files.write(dir.resolve("bc-detached.p7"), gen.generate(new CMSProcessableByteArray(content), false).getEncoded());
        pem(dir.resolve("bc-ca.pem"), caCert);

        KeyPair tsa = kpg.generateKeyPair();
        X509CertificateHolder tsaCert = selfSigned(tsa, "CN=BC TSA", true);
        TimeStampTokenGenerator tg = new TimeStampTokenGenerator(
                new JcaSimpleSignerInfoGeneratorBuilder().setProvider("BC").build("SM3withSM2", tsa.getPrivate(), tsaCert),
                new JcaDigestCalculatorProviderBuilder().setProvider("BC").build().get(new AlgorithmIdentifier(GMObjectIdentifiers.sm3)),
                new ASN1ObjectIdentifier("1.2.3.4.1"));
        tg.addCertificates(new JcaCertStore(List.of(tsaCert)));
        TimeStampRequestGenerator rg = new TimeStampRequestGenerator();
        rg.setCertReq(true);
        TimeStampRequest req = rg.generate(GMObjectIdentifiers.sm3, MessageDigest.getInstance("SM3", "BC").digest(content),
                BigInteger.valueOf(42));
        TimeStampResponse resp = new TimeStampResponseGenerator(tg, new HashSet<>(List.of(GMObjectIdentifiers.sm3)))
                .generate(req, BigInteger.valueOf(7), new Date());
        check(resp.getStatus() == 0, "BouncyCastle's own TSA refused: " + resp.getStatusString());
        Files.write(dir.resolve("bc.tsr"), resp.getEncoded());
        pem(dir.resolve("bc-tsa.pem"), tsaCert);
        System.out.println("bc OK: wrote bc-signed.p7, bc-detached.p7, bc.tsr");
    }

    private static ContentSigner signer(KeyPair kp) throws Exception {
        return new JcaContentSignerBuilder("SM3withSM2").setProvider("BC").build(kp.getPrivate());
    }

    /** A self-signed SM2 certificate, for timestamping only when tsa. */
    private static X509CertificateHolder selfSigned(KeyPair kp, String dn, boolean tsa) throws Exception {
        long now = System.currentTimeMillis();
        X500Name name = new X500Name(dn);
        JcaX509v3CertificateBuilder b = new JcaX509v3CertificateBuilder(name, BigInteger.valueOf(now), new Date(now - 3600_000),
                new Date(now + 86_400_000L), name, kp.getPublic());
        b.addExtension(Extension.basicConstraints, true, new BasicConstraints(false));
        b.addExtension(Extension.keyUsage, true, new KeyUsage(KeyUsage.digitalSignature | KeyUsage.nonRepudiation));
        if (tsa) {
            b.addExtension(Extension.extendedKeyUsage, true, new ExtendedKeyUsage(KeyPurposeId.id_kp_timeStamping));
        }
        return b.build(signer(kp));
    }

    private static void pem(Path p, X509CertificateHolder cert) throws IOException {
        try (PemWriter w = new PemWriter(Files.newBufferedWriter(p))) {
            w.writeObject(new PemObject("CERTIFICATE", cert.getEncoded()));
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            System.exit(1);
        }
    }
}
