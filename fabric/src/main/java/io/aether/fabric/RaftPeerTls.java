package io.aether.fabric;

import io.aether.security.CertificateAuthority;
import io.aether.security.PeerTls;
import io.aether.security.ServerCredentials;
import io.aether.security.Tls;
import java.io.IOException;
import java.nio.file.Path;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;
import org.apache.ratis.conf.Parameters;
import org.apache.ratis.grpc.GrpcConfigKeys;
import org.apache.ratis.grpc.GrpcTlsConfig;

/**
 * Mutual TLS on the Raft port, through Ratis's own gRPC TLS set-up with a JSSE provider
 * ({@link PeerTls}): TLS 1.3, X25519MLKEM768, ML-DSA-65, for the server and for every client
 * (peers dialling peers, and this controller's own Raft client).
 *
 * <p>Each start makes a fresh ML-DSA-65 key and a certificate {@code OU=controller, CN=<peer id>}
 * issued by this controller's authority ({@code DATA/ca}); it presents that certificate and the
 * authority's. A peer is accepted only if its leaf names a controller of the group, its authority
 * is the one pinned for that id in {@code --peers} (this controller's own needs no pin), and the
 * leaf verifies under it and is valid now. A node's or a client's certificate (another
 * {@code OU}), one of a foreign authority, or one claiming another controller's id is refused,
 * logged and counted; a connection without a certificate fails the handshake in the TLS stack
 * (certificate required) before any check.
 */
final class RaftPeerTls {

    private static final Logger LOG = Logger.getLogger(RaftPeerTls.class.getName());
    /** The subject's OU of a controller's peer certificate. */
    static final String CONTROLLER = "controller";
    /** A peer certificate is made again at each start, so it need not outlive a long run by much. */
    static final Duration PEER_CERTIFICATE_VALIDITY = Duration.ofDays(365);

    private final Map<String, String> authorities;
    private final ServerCredentials own;
    private final X509Certificate authority;
    private final Clock clock;
    private final AtomicLong refused = new AtomicLong();

    private RaftPeerTls(Map<String, String> authorities, ServerCredentials own, X509Certificate authority, Clock clock) {
        this.authorities = Map.copyOf(authorities);
        this.own = own;
        this.authority = authority;
        this.clock = clock;
    }

    /** This controller's certificate authority, kept in {@code dataDir/ca} (made on first start). */
    static CertificateAuthority authority(Path dataDir, String controller) throws IOException {
        return CertificateAuthority.loadOrCreate(dataDir.resolve("ca"), "aether-controller-" + controller);
    }

    /**
     * The Raft port's TLS for {@code config}: this controller's authority and the pins of the others.
     *
     * @throws IOException if the pin given for this controller is not its own authority's
     */
    static RaftPeerTls of(ControllerConfig config, Clock clock) throws IOException {
        CertificateAuthority ca = authority(config.dataDir(), config.self());
        String mine = Tls.fingerprint(ca.certificate());
        Map<String, String> pins = new HashMap<>();
        for (ControllerConfig.Peer p : config.peers()) {
            if (p.id().equals(config.self())) {
                if (p.authority().isPresent() && !p.authority().get().equals(mine)) {
                    throw new IOException("--peers pins " + p.id() + "'s certificate authority as sha256:" + p.authority().get()
                            + ", but this controller's (" + config.dataDir().resolve("ca").resolve("ca.crt") + ") is sha256:" + mine);
                }
                pins.put(p.id(), mine);
            } else {
                pins.put(p.id(), p.authority().orElseThrow());
            }
        }
        ServerCredentials own = ca.issuePeer(new CertificateAuthority.Subject(CONTROLLER, config.self()), PEER_CERTIFICATE_VALIDITY);
        return new RaftPeerTls(pins, own, ca.certificate(), clock);
    }

    /** Ratis parameters that put its server and clients on this TLS. */
    Parameters parameters() {
        return parameters(PeerTls.keyManager(own.privateKey(), List.of(own.certificate(), authority)));
    }

    /** As {@link #parameters()}, presenting what {@code keys} holds (a test's stand-in peer). */
    Parameters parameters(javax.net.ssl.KeyManager keys) {
        GrpcTlsConfig tls = GrpcTlsConfig.newBuilder()
                .setKeyManager(keys)
                .setTrustManager(PeerTls.trustManager(this::check))
                .setMutualTls(true)
                .setJsseProviderName(PeerTls.provider())
                .setProtocols(Tls.PROTOCOL)
                .build();
        Parameters parameters = new Parameters();
        GrpcConfigKeys.TLS.setConf(parameters, tls);
        return parameters;
    }

    /** Accepts a chain presented by a controller of this group, or logs, counts and throws why not. */
    void check(X509Certificate[] chain) throws CertificateException {
        Optional<String> problem = problem(chain);
        if (problem.isPresent()) {
            refused.incrementAndGet();
            LOG.warning(() -> "Raft peer refused: " + problem.get());
            throw new CertificateException(problem.get());
        }
    }

    private Optional<String> problem(X509Certificate[] chain) {
        if (chain == null || chain.length == 0) return Optional.of("it sent no certificate");
        X509Certificate leaf = chain[0];
        String name = "'" + leaf.getSubjectX500Principal().getName() + "'";
        CertificateAuthority.Subject subject = CertificateAuthority.subject(leaf);
        if (!subject.unit().equals(CONTROLLER)) return Optional.of(name + " is not a controller's certificate (OU=" + subject.unit() + ")");
        String pinned = authorities.get(subject.name());
        if (pinned == null) return Optional.of(name + " names no controller of this group " + authorities.keySet().stream().sorted().toList());
        if (chain.length < 2) return Optional.of(name + " came without its certificate authority");
        String issuer = Tls.fingerprint(chain[1]);
        if (!issuer.equals(pinned)) {
            return Optional.of(name + " comes with certificate authority sha256:" + issuer + ", not " + subject.name() + "'s pinned sha256:" + pinned);
        }
        return CertificateAuthority.problem(leaf, List.of(chain[1]), clock.instant()).map(why -> name + ": " + why);
    }

    /** Peer certificates refused since this controller started. */
    long refused() {
        return refused.get();
    }

    /** The fingerprint of this controller's authority, which the other controllers pin. */
    String authorityFingerprint() {
        return Tls.fingerprint(authority);
    }
}
