package io.aether.bench.sync;

import io.aether.security.Identity;
import io.aether.security.Signatures;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.Signature;
import java.util.HexFormat;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The signature every sync request now carries (sync/README.md, "Authorisation"): the client
 * signs, the server verifies, once per request. Aether's path ({@link Identity#sign},
 * {@link Signatures#verify}: parameter-set and length checks around the JDK's ML-DSA-65) against
 * the peer, a direct JDK {@code Signature} call on an ML-DSA-65 key pair, over the same bytes: the
 * README's signed-string layout for a typical request (server fingerprint, method, path, time,
 * nonce, body hash). Header formatting and parsing, the access list and the nonce memory are
 * package-private to the server and not measured here; they are string and map work next to
 * a lattice signature.
 *
 * <p>Run: {@code java -cp "bench/target/aether-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*"
 * org.openjdk.jmh.Main RequestSignatureBench} (docs/BENCHMARKS.md, "Request signatures").
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class RequestSignatureBench {

    private Identity identity;
    private KeyPair jdkKeys;
    private byte[] request;
    private byte[] aetherSignature;
    private byte[] jdkSignature;

    @Setup
    public void setUp() throws GeneralSecurityException {
        identity = Identity.generate();
        jdkKeys = KeyPairGenerator.getInstance("ML-DSA-65").generateKeyPair();
        HexFormat hex = HexFormat.of();
        String fingerprint = hex.formatHex(MessageDigest.getInstance("SHA-256").digest("server certificate".getBytes(StandardCharsets.UTF_8)));
        String body = hex.formatHex(MessageDigest.getInstance("SHA-256").digest(new byte[32 * 256]));
        request = ("aether-sync-request-v1\n" + fingerprint + "\nPOST\n/v1/objects\n1796515200000\n"
                + "0123456789abcdef0123456789abcdef\n" + body + "\n").getBytes(StandardCharsets.UTF_8);
        aetherSignature = identity.sign(request);
        jdkSignature = jdkSign(request);
        if (!Signatures.verify(identity.publicKey(), request, aetherSignature) || !jdkVerify(request, jdkSignature)) {
            throw new IllegalStateException("a signature made in set-up does not verify");
        }
    }

    @Benchmark
    public byte[] aetherSign() {
        return identity.sign(request);
    }

    @Benchmark
    public boolean aetherVerify() {
        return Signatures.verify(identity.publicKey(), request, aetherSignature);
    }

    /** One request's whole signature cost: the client's signing and the server's verification. */
    @Benchmark
    public boolean aetherSignAndVerify() {
        return Signatures.verify(identity.publicKey(), request, identity.sign(request));
    }

    @Benchmark
    public byte[] jdkSign() throws GeneralSecurityException {
        return jdkSign(request);
    }

    @Benchmark
    public boolean jdkVerify() throws GeneralSecurityException {
        return jdkVerify(request, jdkSignature);
    }

    @Benchmark
    public boolean jdkSignAndVerify() throws GeneralSecurityException {
        return jdkVerify(request, jdkSign(request));
    }

    private byte[] jdkSign(byte[] data) throws GeneralSecurityException {
        Signature s = Signature.getInstance("ML-DSA-65");
        s.initSign(jdkKeys.getPrivate());
        s.update(data);
        return s.sign();
    }

    private boolean jdkVerify(byte[] data, byte[] signature) throws GeneralSecurityException {
        Signature s = Signature.getInstance("ML-DSA-65");
        s.initVerify(jdkKeys.getPublic());
        s.update(data);
        return s.verify(signature);
    }
}
