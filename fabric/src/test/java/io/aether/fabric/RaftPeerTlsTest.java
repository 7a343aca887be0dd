package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.security.CertificateAuthority;
import io.aether.security.PeerTls;
import io.aether.security.ServerCredentials;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Vector;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.apache.ratis.client.RaftClient;
import org.apache.ratis.client.RaftClientConfigKeys;
import org.apache.ratis.conf.RaftProperties;
import org.apache.ratis.protocol.Message;
import org.apache.ratis.protocol.RaftClientReply;
import org.apache.ratis.protocol.RaftGroup;
import org.apache.ratis.protocol.RaftPeer;
import org.apache.ratis.retry.RetryPolicies;
import org.apache.ratis.thirdparty.com.google.protobuf.ByteString;
import org.apache.ratis.util.TimeDuration;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.tls.DefaultTlsClient;
import org.bouncycastle.tls.NamedGroup;
import org.bouncycastle.tls.ProtocolName;
import org.bouncycastle.tls.ProtocolVersion;
import org.bouncycastle.tls.ServerOnlyTlsAuthentication;
import org.bouncycastle.tls.SignatureAndHashAlgorithm;
import org.bouncycastle.tls.SignatureScheme;
import org.bouncycastle.tls.TlsAuthentication;
import org.bouncycastle.tls.TlsClientProtocol;
import org.bouncycastle.tls.TlsServerCertificate;
import org.bouncycastle.tls.crypto.impl.jcajce.JcaTlsCryptoProvider;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Raft port of three controllers on loopback: writes commit through each over mutual
 * post-quantum TLS; a stand-in peer with a foreign authority's certificate, a node's certificate
 * of the fabric's own authority, a controller certificate for an id outside the group, no
 * certificate, or no TLS at all gets nothing in, and each refusal judged is logged and counted.
 */
@Timeout(120)
class RaftPeerTlsTest {

    @TempDir
    Path dir;

    private final List<ReplicatedFabric> peers = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private final Logger log = Logger.getLogger(RaftPeerTls.class.getName());
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord record) {
            synchronized (warnings) {
                warnings.add(record.getMessage());
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private List<ControllerConfig> configs;

    @BeforeEach
    void startThreeControllers() throws IOException {
        log.addHandler(capture);
        configs = Fabrics.group(dir, 3, 1000);
        for (ControllerConfig c : configs) peers.add(ReplicatedFabric.start(c));
    }

    @AfterEach
    void stop() throws IOException {
        log.removeHandler(capture);
        for (ReplicatedFabric p : peers) p.close();
    }

    @Test
    void writesThroughEachControllerCommitOverTheRaftPortsTls() throws IOException, InterruptedException {
        for (int i = 0; i < peers.size(); i++) {
            assertEquals(new Outcome.Applied(i + 1), peers.get(i).propose(new Command.SubmitJob(Fabrics.stubJob("job" + i), Instant.ofEpochMilli(i + 1))));
        }
        for (ReplicatedFabric p : peers) {
            assertEquals(3, p.queryOn(p.id(), Fabrics.query("jobs")).path("jobs").size(), "jobs read on " + p.id());
        }
        assertEquals(0, refusedByAll(), "legitimate peers were refused: " + warnings);
    }

    /**
     * An independent client (BC's low-level TLS API, which tells the negotiated group) that
     * prefers classical x25519 and offers ECDSA: the Raft port still settles on X25519MLKEM768,
     * presents its ML-DSA-65 controller certificate, then ends the handshake for want of a client
     * certificate.
     */
    @Test
    void theRaftPortNegotiatesX25519MLKEM768WithAnMlDsaControllerCertificateAndRequiresOneBack() throws Exception {
        // Events count what commands changed; the log index also moves with a leader's election under load.
        long eventsBefore = peers.get(1).readLocal(st -> st.lastSequence);
        var crypto = new JcaTlsCryptoProvider().setProvider(new BouncyCastleProvider()).create(new SecureRandom());
        int[] negotiated = {-1};
        X509Certificate[] presented = new X509Certificate[1];
        DefaultTlsClient client = new DefaultTlsClient(crypto) {
            @Override
            protected ProtocolVersion[] getSupportedVersions() {
                return ProtocolVersion.TLSv13.only();
            }

            @Override
            protected Vector<Integer> getSupportedGroups(@SuppressWarnings("rawtypes") Vector roles) {
                return new Vector<>(List.of(NamedGroup.x25519, NamedGroup.secp256r1, NamedGroup.X25519MLKEM768));
            }

            @Override
            protected Vector<SignatureAndHashAlgorithm> getSupportedSignatureAlgorithms() {
                return new Vector<>(List.of(SignatureScheme.getSignatureAndHashAlgorithm(SignatureScheme.ecdsa_secp256r1_sha256),
                        SignatureScheme.getSignatureAndHashAlgorithm(SignatureScheme.mldsa65)));
            }

            @Override
            protected Vector<ProtocolName> getProtocolNames() {
                return new Vector<>(List.of(ProtocolName.HTTP_2_TLS));
            }

            @Override
            public TlsAuthentication getAuthentication() {
                return new ServerOnlyTlsAuthentication() {
                    @Override
                    public void notifyServerCertificate(TlsServerCertificate certificate) throws IOException {
                        negotiated[0] = context.getSecurityParametersHandshake().getNegotiatedGroup();
                        presented[0] = CertificateAuthority.decode(certificate.getCertificate().getCertificateAt(0).getEncoded(), "the Raft port's certificate");
                    }
                };
            }
        };
        ControllerConfig.Peer c2 = configs.get(1).peers().get(1);
        try (Socket raw = new Socket(c2.host(), c2.port())) {
            raw.setSoTimeout(10_000);
            TlsClientProtocol protocol = new TlsClientProtocol(raw.getInputStream(), raw.getOutputStream());
            // Without a client certificate the server ends the handshake (certificate_required).
            assertThrows(IOException.class, () -> {
                protocol.connect(client);
                protocol.getInputStream().read();
            });
        }
        assertEquals(NamedGroup.X25519MLKEM768, negotiated[0], "negotiated " + NamedGroup.getName(negotiated[0]));
        assertEquals(new CertificateAuthority.Subject(RaftPeerTls.CONTROLLER, "c2"), CertificateAuthority.subject(presented[0]));
        assertEquals("ML-DSA-65", presented[0].getPublicKey().getAlgorithm());
        long eventsAfter = peers.get(1).readLocal(st -> st.lastSequence);
        assertEquals(eventsBefore, eventsAfter, "no command applied");
    }

    @Test
    void aPeerWithAForeignANodeOrAnOutsidersCertificateIsRefusedLoggedAndCountedAndChangesNothing() throws IOException, InterruptedException {
        assertEquals(new Outcome.Applied(1), peers.getFirst().propose(new Command.SubmitJob(Fabrics.stubJob("before"), Instant.ofEpochMilli(1))));
        // The submit's event is number 1 (its outcome): every peer has applied it once it has that event.
        long events = 1;
        for (ReplicatedFabric p : peers) {
            while (p.<Long>readLocal(st -> st.lastSequence) < events) Thread.sleep(20);
        }
        CertificateAuthority fabricCa = RaftPeerTls.authority(dir.resolve("c1"), "c1");
        // Even a foreign authority of the very same name as c1's: its fingerprint is not the pin.
        CertificateAuthority foreignCa = CertificateAuthority.generate("aether-controller-c1");
        Map<String, StandIn> standIns = Map.of(
                "foreign authority", new StandIn(foreignCa, new CertificateAuthority.Subject(RaftPeerTls.CONTROLLER, "c1")),
                "node certificate", new StandIn(fabricCa, new CertificateAuthority.Subject(FabricTrust.NODE, "c1")),
                "controller outside the group", new StandIn(fabricCa, new CertificateAuthority.Subject(RaftPeerTls.CONTROLLER, "c9")));
        for (var standIn : standIns.entrySet()) {
            long refusedBefore = refusedByAll();
            ServerCredentials credentials = standIn.getValue().authority().issuePeer(standIn.getValue().subject(), Duration.ofDays(1));
            var keys = PeerTls.keyManager(credentials.privateKey(), List.of(credentials.certificate(), standIn.getValue().authority().certificate()));
            assertFalse(proposeAs(peers.getFirst().peerTls().parameters(keys)), standIn.getKey() + ": the write was applied");
            assertTrue(refusedByAll() > refusedBefore, standIn.getKey() + ": no refusal counted");
        }
        synchronized (warnings) {
            assertTrue(warnings.stream().anyMatch(w -> w.contains("not c1's pinned sha256:" + peers.getFirst().peerTls().authorityFingerprint())), warnings.toString());
            assertTrue(warnings.stream().anyMatch(w -> w.contains("is not a controller's certificate (OU=node)")), warnings.toString());
            assertTrue(warnings.stream().anyMatch(w -> w.contains("names no controller of this group [c1, c2, c3]")), warnings.toString());
        }
        for (ReplicatedFabric p : peers) {
            // Not the log index: a leader elected again under load appends an entry of its own.
            long now = p.readLocal(st -> st.lastSequence);
            assertEquals(events, now, p.id() + " applied something");
            assertEquals(List.of("before"), p.readLocal(s -> List.copyOf(s.jobs.keySet())), p.id());
        }
    }

    /** Plain TCP speaking gRPC's HTTP/2 preface gets no HTTP/2 settings back: nothing but a closed connection or a TLS alert. */
    @Test
    void plainTcpToTheRaftPortGetsNoRaftService() throws IOException {
        ControllerConfig.Peer c1 = configs.getFirst().peers().getFirst();
        byte[] answer;
        try (Socket raw = new Socket(c1.host(), c1.port())) {
            raw.setSoTimeout(5_000);
            raw.getOutputStream().write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            // An empty SETTINGS frame: length 0, type 4, no flags, stream 0.
            raw.getOutputStream().write(new byte[] {0, 0, 0, 4, 0, 0, 0, 0, 0});
            raw.getOutputStream().flush();
            answer = readUntilClosed(raw.getInputStream());
        }
        boolean http2Settings = answer.length >= 9 && answer[3] == 4;
        assertFalse(http2Settings, "the Raft port answered plain HTTP/2");
        assertTrue(answer.length == 0 || answer[0] == 0x15, "neither closed nor a TLS alert: first byte " + (answer.length == 0 ? "" : answer[0]));
    }

    private record StandIn(CertificateAuthority authority, CertificateAuthority.Subject subject) {
    }

    /** Tries one write to the group with these TLS parameters; true if it was applied. */
    private boolean proposeAs(org.apache.ratis.conf.Parameters parameters) throws IOException {
        RaftProperties properties = new RaftProperties();
        RaftClientConfigKeys.Rpc.setRequestTimeout(properties, TimeDuration.valueOf(2, TimeUnit.SECONDS));
        RaftGroup group = RaftGroup.valueOf(ReplicatedFabric.GROUP_ID, configs.getFirst().peers().stream()
                .map(p -> RaftPeer.newBuilder().setId(p.id()).setAddress(p.address()).build()).toList());
        try (RaftClient intruder = RaftClient.newBuilder().setProperties(properties).setParameters(parameters).setRaftGroup(group)
                .setRetryPolicy(RetryPolicies.retryUpToMaximumCountWithFixedSleep(3, TimeDuration.valueOf(100, TimeUnit.MILLISECONDS))).build()) {
            RaftClientReply reply = intruder.io().send(Message.valueOf(ByteString.copyFrom(
                    FabricCodec.encode(new Command.SubmitJob(Fabrics.stubJob("intruder"), Instant.ofEpochMilli(2))))));
            return reply.isSuccess();
        } catch (IOException e) {
            return false;
        }
    }

    private long refusedByAll() {
        return peers.stream().mapToLong(p -> p.peerTls().refused()).sum();
    }

    private static byte[] readUntilClosed(InputStream in) throws IOException {
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        byte[] buffer = new byte[4096];
        try {
            for (int n; (n = in.read(buffer)) > 0 && got.size() < 65_536; ) got.write(buffer, 0, n);
        } catch (SocketTimeoutException | java.net.SocketException e) {
            // A reset or a silent server: whatever came before it is the answer.
        }
        return got.toByteArray();
    }
}
