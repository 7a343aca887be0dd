/**
 * Keys, trust and transport security for Aether.
 *
 * <ul>
 *   <li>{@link io.aether.security.Identity}: an ML-DSA-65 key pair (FIPS 204, the JDK 25 provider)
 *       that signs commits and other artifacts; {@link io.aether.security.KeyId} names a public key
 *       by the SHA-256 of its X.509 encoding.</li>
 *   <li>{@link io.aether.security.Signatures}: verification, strictly ML-DSA-65: keys and signatures
 *       of the other FIPS 204 parameter sets (ML-DSA-44, ML-DSA-87) are refused by name.</li>
 *   <li>{@link io.aether.security.KeyFiles}: PEM files, PKCS#8 for private keys (mode 0600, written
 *       atomically) and X.509 SubjectPublicKeyInfo for public keys.</li>
 *   <li>{@link io.aether.security.TrustStore}: the author keys this machine accepts (ML-DSA-65 keys
 *       only); an unknown key is refused with its key id ({@link io.aether.security.UntrustedKeyException}).</li>
 *   <li>{@link io.aether.security.Tls}: TLS 1.3 contexts from BouncyCastle's JSSE provider whose only
 *       key exchange is the hybrid group X25519MLKEM768 and whose only signature scheme is ML-DSA-65,
 *       with self-signed ML-DSA-65 server certificates ({@link io.aether.security.ServerCredentials})
 *       pinned by clients ({@link io.aether.security.ServerTrust}); for mutual TLS, servers that
 *       pin client certificates and clients that present one. For browsers, which verify no
 *       ML-DSA certificate yet, a context with an ECDSA P-256 certificate
 *       ({@link io.aether.security.BrowserCredentials}) that prefers X25519MLKEM768 and accepts
 *       classical groups after it.</li>
 *   <li>{@link io.aether.security.PeerTls}: the same TLS for a transport that makes its own engines
 *       from a named JSSE provider (Ratis's gRPC): peers that present a certificate chain and judge
 *       each other's; {@link io.aether.security.CertificateAuthority} issues their certificates.</li>
 *   <li>{@link io.aether.security.AetherHome}: where these files live by default.</li>
 * </ul>
 */
package io.aether.security;
