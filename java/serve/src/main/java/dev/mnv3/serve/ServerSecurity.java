package dev.mnv3.serve;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;

/**
 * Who may talk to the server and how: TLS on both ports (a PEM certificate chain and its PKCS#8
 * private key), and a bearer token every call but the health checks must carry.
 *
 * @param tlsCertificate the certificate chain, PEM; null: plaintext
 * @param tlsKey         its private key, PEM PKCS#8 ("BEGIN PRIVATE KEY"), unencrypted; null: plaintext
 * @param token          the token clients send as {@code Authorization: Bearer TOKEN}; null: none asked for
 */
public record ServerSecurity(Path tlsCertificate, Path tlsKey, String token) {
    public static final ServerSecurity NONE = new ServerSecurity(null, null, null);

    public ServerSecurity {
        if ((tlsCertificate == null) != (tlsKey == null)) {
            throw new IllegalArgumentException("TLS needs both a certificate and its private key");
        }
        if (token != null && (token.isBlank() || !token.chars().allMatch(c -> c > 0x20 && c < 0x7f))) {
            throw new IllegalArgumentException("the token must be printable ASCII without spaces, and not empty");
        }
    }

    public boolean tls() {
        return tlsCertificate != null;
    }

    public boolean authenticates() {
        return token != null;
    }

    /** Whether an {@code Authorization} header's value carries the token (compared in constant time). */
    public boolean admits(String authorization) {
        if (token == null) return true;
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) return false;
        return MessageDigest.isEqual(authorization.substring(7).strip().getBytes(StandardCharsets.UTF_8),
                token.getBytes(StandardCharsets.UTF_8));
    }

    /** Never the token itself. */
    @Override
    public String toString() {
        return "ServerSecurity[tls=" + (tls() ? tlsCertificate : "off") + ", token=" + (token == null ? "none" : "set") + "]";
    }
}
