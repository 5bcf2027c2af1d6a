import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.security.Security;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CertificateFactory;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXCertPathBuilderResult;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CRL;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.List;

import org.bouncycastle.asn1.x509.CRLReason;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.ocsp.BasicOCSPResp;
import org.bouncycastle.cert.ocsp.CertificateStatus;
import org.bouncycastle.cert.ocsp.OCSPResp;
import org.bouncycastle.cert.ocsp.RevokedStatus;
import org.bouncycastle.cert.ocsp.SingleResp;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.operator.DigestCalculatorProvider;
import org.bouncycastle.operator.jcajce.JcaContentVerifierProviderBuilder;
import org.bouncycastle.operator.jcajce.JcaDigestCalculatorProviderBuilder;

/**
 * Checks mima's CA output with BouncyCastle (SM3withSM2, identity
 * 1234567812345678). Usage: PkiCheck DIR, where DIR holds root.pem,
 * inter.pem and leaf.pem (a chain), crl.der (the intermediate's CRL),
 * revoked.hex (a serial it lists) and the intermediate's OCSP answers
 * ocsp-good.der, ocsp-good-sm3.der (about the leaf, SHA-1 and SM3 CertIDs)
 * and ocsp-revoked.der (about the revoked serial). It prints one "OK" line
 * per check and exits with status 1 at the first failure.
 */
public final class PkiCheck {
    public static void main(String[] args) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        Path dir = Paths.get(args[0]);
        CertificateFactory cf = CertificateFactory.getInstance("X.509", "BC");
        X509Certificate root = cert(cf, dir.resolve("root.pem"));
        X509Certificate inter = cert(cf, dir.resolve("inter.pem"));
        X509Certificate leaf = cert(cf, dir.resolve("leaf.pem"));

        X509CertSelector target = new X509CertSelector();
        target.setCertificate(leaf);
        PKIXBuilderParameters params = new PKIXBuilderParameters(
                Collections.singleton(new TrustAnchor(root, null)), target);
        params.addCertStore(CertStore.getInstance("Collection",
                new CollectionCertStoreParameters(List.of(inter, leaf)), "BC"));
        params.setRevocationEnabled(false);
        PKIXCertPathBuilderResult path = (PKIXCertPathBuilderResult) CertPathBuilder
                .getInstance("PKIX", "BC").build(params);
        check(path.getCertPath().getCertificates().size() == 2, "the path is not leaf, intermediate");
        check(leaf.getSigAlgName().equalsIgnoreCase("SM3WITHSM2"), "leaf algorithm " + leaf.getSigAlgName());
        System.out.println("path OK: " + leaf.getSubjectX500Principal() + " <- "
                + path.getTrustAnchor().getTrustedCert().getSubjectX500Principal());

        X509CRL crl;
        try (InputStream in = Files.newInputStream(dir.resolve("crl.der"))) {
            crl = (X509CRL) cf.generateCRL(in);
        }
        crl.verify(inter.getPublicKey(), "BC");
        BigInteger revoked = new BigInteger(Files.readString(dir.resolve("revoked.hex")).trim(), 16);
        check(crl.getRevokedCertificate(revoked) != null, "the CRL does not list " + revoked.toString(16));
        check(crl.getRevokedCertificate(leaf.getSerialNumber()) == null, "the CRL lists the good leaf");
        System.out.println("crl OK: " + crl.getSigAlgName() + ", revoked " + revoked.toString(16));

        DigestCalculatorProvider digests = new JcaDigestCalculatorProviderBuilder().setProvider("BC").build();
        X509CertificateHolder issuer = new X509CertificateHolder(inter.getEncoded());
        String[][] answers = {{"ocsp-good.der", "good"}, {"ocsp-good-sm3.der", "good"}, {"ocsp-revoked.der", "revoked"}};
        for (String[] a : answers) {
            OCSPResp resp = new OCSPResp(Files.readAllBytes(dir.resolve(a[0])));
            check(resp.getStatus() == OCSPResp.SUCCESSFUL, a[0] + " status " + resp.getStatus());
            BasicOCSPResp basic = (BasicOCSPResp) resp.getResponseObject();
            check(basic.isSignatureValid(new JcaContentVerifierProviderBuilder().setProvider("BC").build(inter)),
                    a[0] + ": the signature does not verify");
            SingleResp single = basic.getResponses()[0];
            check(single.getCertID().matchesIssuer(issuer, digests), a[0] + ": the CertID is not the intermediate's");
            CertificateStatus status = single.getCertStatus();
            if (a[1].equals("good")) {
                check(status == CertificateStatus.GOOD, a[0] + ": not good");
                check(single.getCertID().getSerialNumber().equals(leaf.getSerialNumber()), a[0] + ": serial");
            } else {
                check(status instanceof RevokedStatus, a[0] + ": not revoked");
                RevokedStatus rs = (RevokedStatus) status;
                check(rs.hasRevocationReason() && rs.getRevocationReason() == CRLReason.keyCompromise,
                        a[0] + ": reason is not keyCompromise");
                check(single.getCertID().getSerialNumber().equals(revoked), a[0] + ": serial");
            }
            System.out.println("ocsp OK: " + a[0] + " " + a[1] + ", "
                    + single.getCertID().getHashAlgOID() + ", " + basic.getSignatureAlgOID());
        }
    }

    private static X509Certificate cert(CertificateFactory cf, Path p) throws Exception {
        try (InputStream in = Files.newInputStream(p)) {
            return (X509Certificate) cf.generateCertificate(in);
        }
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            System.out.println("FAIL: " + what);
            System.exit(1);
        }
    }
}
