package dev.mnv3.serve;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.spec.PKCS8EncodedKeySpec;
import java.util.Base64;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEM certificate chain and its PKCS#8 private key, read and checked once at start-up: Jetty
 * takes them as a key store, gRPC as the PEM bytes. Every problem is one line naming the file.
 */
public record TlsFiles(byte[] certificatePem, byte[] keyPem, KeyStore keyStore) {
    /** The key store's password: it lives in memory only. */
    public static final char[] PASSWORD = "mnv3".toCharArray();
    private static final Pattern KEY = Pattern.compile("-----BEGIN PRIVATE KEY-----([A-Za-z0-9+/=\\s]+)-----END PRIVATE KEY-----");

    public static TlsFiles read(Path certificate, Path key) throws IOException {
        byte[] certPem = Files.readAllBytes(certificate), keyPem = Files.readAllBytes(key);
        List<? extends Certificate> chain;
        try {
            chain = List.copyOf(CertificateFactory.getInstance("X.509").generateCertificates(new ByteArrayInputStream(certPem)));
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the TLS certificate " + certificate + " is not a PEM certificate chain: " + e.getMessage());
        }
        if (chain.isEmpty()) throw new IllegalArgumentException("the TLS certificate " + certificate + " holds no certificate");
        PrivateKey privateKey = privateKey(key, new String(keyPem, StandardCharsets.US_ASCII));
        try {
            KeyStore store = KeyStore.getInstance("PKCS12");
            store.load(null, null);
            store.setKeyEntry("mnv3", privateKey, PASSWORD, chain.toArray(Certificate[]::new));
            return new TlsFiles(certPem, keyPem, store);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the TLS key " + key + " does not go with the certificate " + certificate + ": "
                    + e.getMessage());
        }
    }

    private static PrivateKey privateKey(Path file, String pem) {
        Matcher m = KEY.matcher(pem);
        if (!m.find()) {
            throw new IllegalArgumentException("the TLS key " + file + " is not an unencrypted PKCS#8 PEM key (\"BEGIN PRIVATE KEY\"); "
                    + "convert one with: openssl pkcs8 -topk8 -nocrypt -in KEY -out KEY.pkcs8");
        }
        PKCS8EncodedKeySpec spec = new PKCS8EncodedKeySpec(Base64.getMimeDecoder().decode(m.group(1)));
        for (String algorithm : List.of("RSA", "EC", "Ed25519", "Ed448")) {
            try {
                return KeyFactory.getInstance(algorithm).generatePrivate(spec);
            } catch (GeneralSecurityException e) {
                // not this algorithm
            }
        }
        throw new IllegalArgumentException("the TLS key " + file + " is not an RSA, EC or EdDSA private key");
    }
}
