package io.aether.fabric;

import io.aether.fabricapi.Node;
import io.aether.http.Peer;
import io.aether.security.CertificateAuthority;
import io.aether.security.ClientCertificateCheck;
import io.aether.security.KeyId;
import io.aether.security.Tls;
import java.io.IOException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.PublicKey;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.time.Clock;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Logger;

/**
 * Who may talk to this controller over TLS. Each controller has its own certificate authority
 * ({@code DATA/ca}), recorded in the replicated state when it starts, so that every controller
 * accepts what any of them issued. A node gets a certificate of its registered key when it joins;
 * from then on its TLS handshake is checked against the state: issued by a CA of the fabric, of
 * the key its node joined with, and that node not revoked. Fingerprints pinned with
 * {@code --allow-client} are let in as they are. Refusals are logged and counted.
 */
final class FabricTrust implements ClientCertificateCheck {

    private static final Logger LOG = Logger.getLogger(FabricTrust.class.getName());
    /** The subject's OU of a node certificate. */
    static final String NODE = "node";
    static final Duration NODE_CERTIFICATE_VALIDITY = Duration.ofDays(365);
    static final Duration CLIENT_CERTIFICATE_VALIDITY = Duration.ofDays(365);

    /** Who sent a request, as the certificate (or the socket) it came with says. */
    sealed interface Caller {
        /** Through the Unix socket (mode 0600): this machine's controller user, root of the fabric. */
        record Local() implements Caller { }

        /** Over TLS without a certificate: only a node's registration, which its token and signature authenticate. */
        record Anonymous() implements Caller { }

        /** A pinned {@code --allow-client} certificate: an administrator. */
        record Pinned(String fingerprint) implements Caller { }

        /** A node with a certificate of the fabric. */
        record NodeCaller(String name) implements Caller { }

        /** A client identity of the fabric, with its role. */
        record ClientCaller(String name, Access.Need role) implements Caller { }
    }

    private final ReplicatedFabric fabric;
    private final CertificateAuthority authority;
    private final String controller;
    private final Set<String> pinned;
    private final Clock clock;
    private final AtomicLong refused = new AtomicLong();
    /** Decoded CA certificates by their base64 form, so that a handshake does not parse them again. */
    private final Map<String, X509Certificate> decoded = new ConcurrentHashMap<>();
    private volatile boolean recorded;

    private FabricTrust(ReplicatedFabric fabric, CertificateAuthority authority, String controller, Set<String> pinned, Clock clock) {
        this.fabric = fabric;
        this.authority = authority;
        this.controller = controller;
        this.pinned = Set.copyOf(pinned);
        this.clock = clock;
    }

    /** This controller's CA from {@code dataDir/ca} (made on first start). */
    static FabricTrust open(ReplicatedFabric fabric, Path dataDir, String controller, Set<String> pinned, Clock clock) throws IOException {
        return new FabricTrust(fabric, RaftPeerTls.authority(dataDir, controller), controller, pinned, clock);
    }

    /** Proposes this controller's CA to the state unless it is there already; true once it is. */
    boolean record() throws IOException {
        if (recorded) return true;
        String der = Base64.getEncoder().encodeToString(encoded(authority.certificate()));
        if (fabric.propose(new Command.AddAuthority(controller, der, clock.instant())) instanceof Outcome.Refused(String reason)) {
            LOG.warning("this controller's certificate authority is not the fabric's: " + reason + "; nodes cannot join through it");
            return false;
        }
        recorded = true;
        return true;
    }

    /** A certificate for the node {@code name} of {@code key} (the key it joined with), issued by this controller's CA. */
    X509Certificate issueNode(String name, PublicKey key) {
        return authority.issue(key, new CertificateAuthority.Subject(NODE, name), NODE_CERTIFICATE_VALIDITY);
    }

    X509Certificate authorityCertificate() {
        return authority.certificate();
    }

    /** Handshake check: a pinned client, or a node certificate the fabric stands behind now. */
    @Override
    public void check(X509Certificate leaf) throws CertificateException {
        if (pinned.contains(Tls.fingerprint(leaf))) return;
        Optional<String> problem = problem(leaf);
        if (problem.isPresent()) {
            refused.incrementAndGet();
            LOG.warning(() -> "client certificate '" + leaf.getSubjectX500Principal().getName() + "' refused: " + problem.get());
            throw new CertificateException(problem.get());
        }
    }

    /**
     * Who sent {@code peer}'s request. The certificate is checked again: it passed the handshake,
     * but the node may have been revoked since on a connection kept open.
     */
    Caller caller(Peer peer) throws CertificateException {
        if (peer.address().equals("unix")) return new Caller.Local();
        if (peer.certificate().isEmpty()) return new Caller.Anonymous();
        X509Certificate leaf = peer.certificate().get();
        if (pinned.contains(Tls.fingerprint(leaf))) return new Caller.Pinned(Tls.fingerprint(leaf));
        check(leaf);
        CertificateAuthority.Subject subject = CertificateAuthority.subject(leaf);
        return subject.unit().equals(NODE) ? new Caller.NodeCaller(subject.name()) : new Caller.ClientCaller(subject.name(), Access.role(subject.unit()).orElseThrow());
    }

    /** Certificates refused since this controller started. */
    long refused() {
        return refused.get();
    }

    private Optional<String> problem(X509Certificate leaf) {
        List<X509Certificate> authorities = fabric.readLocal(s -> List.copyOf(s.authorities.values())).stream().map(this::decode).toList();
        Optional<String> issued = CertificateAuthority.problem(leaf, authorities, clock.instant());
        if (issued.isPresent()) return issued;
        CertificateAuthority.Subject subject = CertificateAuthority.subject(leaf);
        if (Access.role(subject.unit()).isPresent()) return clientProblem(subject, KeyId.of(leaf.getPublicKey()).hex());
        if (!subject.unit().equals(NODE)) return Optional.of("'" + subject.unit() + "' is not a kind of certificate this controller accepts");
        String key = Base64.getEncoder().encodeToString(leaf.getPublicKey().getEncoded());
        return fabric.readLocal(s -> {
            Node node = s.nodes.get(subject.name());
            if (node == null) return Optional.of("no node " + subject.name());
            if (!key.equals(s.keys.get(subject.name()))) return Optional.of("not the key node " + subject.name() + " joined with");
            if (node.status() == Node.Status.REVOKED) return Optional.of("node " + subject.name() + " is revoked");
            return Optional.empty();
        });
    }

    /** A client certificate stands for the recorded, unrevoked client of that name, key and role. */
    private Optional<String> clientProblem(CertificateAuthority.Subject subject, String keyId) {
        return fabric.readLocal(s -> {
            FabricState.Client client = s.clients.get(subject.name());
            if (client == null) return Optional.of("no client " + subject.name());
            if (client.revoked()) return Optional.of("client " + subject.name() + " is revoked");
            if (!client.keyId().equals(keyId)) return Optional.of("not the key of client " + subject.name());
            if (!client.role().equals(subject.unit())) return Optional.of("client " + subject.name() + " has role " + client.role() + ", not " + subject.unit());
            return Optional.empty();
        });
    }

    /** A client certificate for {@code name} with {@code role} of {@code key}, issued by this controller's CA; the client must be recorded first. */
    X509Certificate issueClient(String name, String role, PublicKey key) {
        return authority.issue(key, new CertificateAuthority.Subject(role, name), CLIENT_CERTIFICATE_VALIDITY);
    }

    private X509Certificate decode(String base64) {
        return decoded.computeIfAbsent(base64, b -> {
            try {
                return CertificateAuthority.decode(Base64.getDecoder().decode(b), "certificate authority");
            } catch (IOException e) {
                throw new IllegalStateException("a certificate authority in the state is unreadable", e);
            }
        });
    }

    private static byte[] encoded(X509Certificate certificate) {
        try {
            return certificate.getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("certificate cannot be encoded", e);
        }
    }
}
