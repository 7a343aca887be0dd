package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.aether.http.ApiClient;
import io.aether.security.AetherHome;
import io.aether.security.CertificateAuthority;
import io.aether.security.Identity;
import io.aether.security.ServerCredentials;
import io.aether.security.ServerTrust;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Arrays;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A client identity of the fabric in a directory: {@code client.key} (ML-DSA-65, 0600) and
 * {@code client.pub}, {@code client.crt} (issued by a controller's CA, naming the client and its
 * role), {@code authority.crt}, and {@code controller}: the SHA-256 of the TLS certificate of the
 * controller that issued it, which the client pins when it connects with {@code --controller HOST:PORT}.
 */
final class ClientIdentity {

    static final String KEY = "client.key";
    static final String PUBLIC_KEY = "client.pub";
    static final String CERTIFICATE = "client.crt";
    static final String AUTHORITY = "authority.crt";
    static final String CONTROLLER = "controller";
    private static final Pattern HOST_PORT = Pattern.compile("\\[?[A-Za-z0-9.:-]+]?:[0-9]{1,5}");

    private ClientIdentity() {
    }

    /** Where clients look for their identity unless told: {@code AETHER_HOME/client}. */
    static Path defaultDir() {
        return AetherHome.resolve().dir().resolve("client");
    }

    /** Whether {@code controller} names a TLS listener ({@code HOST:PORT}) rather than a Unix socket. */
    static boolean isHostPort(String controller) {
        return HOST_PORT.matcher(controller).matches() && !Files.exists(Path.of(controller));
    }

    /** A mutual-TLS client of the controller at {@code hostPort} with the identity in {@code dir}. */
    static ApiClient connect(String hostPort, Path dir, Duration timeout) throws IOException {
        if (!Files.exists(dir.resolve(CERTIFICATE))) {
            throw new IOException(dir + ": no client identity (" + CERTIFICATE + "); 'aether client create NAME --role ROLE --out " + dir + "' makes one");
        }
        if (!Files.exists(dir.resolve(CONTROLLER))) {
            throw new IOException(dir.resolve(CONTROLLER) + ": no controller certificate to pin (the identity was issued by a controller"
                    + " without --listen); write the SHA-256 of the controller's TLS certificate there");
        }
        int colon = hostPort.lastIndexOf(':');
        String fingerprint = Files.readString(dir.resolve(CONTROLLER)).strip();
        ServerCredentials credentials = ServerCredentials.load(dir.resolve(KEY), dir.resolve(CERTIFICATE));
        return ApiClient.mutualTls(hostPort.substring(0, colon).replaceAll("^\\[|]$", ""), Integer.parseInt(hostPort.substring(colon + 1)),
                new ServerTrust.Pinned(fingerprint), credentials, timeout);
    }

    /**
     * Makes a key in {@code dir} and has {@code controller} issue it a certificate as client
     * {@code name} with {@code role}. Refused before anything is sent if {@code dir} holds a key.
     */
    static JsonNode create(ApiClient controller, String name, String role, Path dir) throws IOException {
        if (Files.exists(dir.resolve(KEY))) throw new FileAlreadyExistsException(dir.resolve(KEY).toString(), null, "a client key is already there");
        Identity identity = Identity.generate();
        var request = new com.fasterxml.jackson.databind.ObjectMapper().createObjectNode().put("name", name).put("role", role)
                .put("key", java.util.Base64.getEncoder().encodeToString(identity.publicKey().getEncoded()));
        JsonNode answer = controller.post("/v1/clients", request).requireOk().json(JsonNode.class);
        String certificate = answer.path("certificate").asText("");
        if (!Arrays.equals(CertificateAuthority.parse(certificate, "the controller's answer: certificate").getPublicKey().getEncoded(),
                identity.publicKey().getEncoded())) {
            throw new IOException("the controller's answer: the certificate is not of the key made for it");
        }
        Files.createDirectories(dir);
        identity.save(dir.resolve(KEY), dir.resolve(PUBLIC_KEY));
        writeAtomically(dir.resolve(AUTHORITY), answer.path("authority").asText(""));
        Optional.ofNullable(answer.get("controller")).ifPresent(f -> {
            try {
                writeAtomically(dir.resolve(CONTROLLER), f.asText() + "\n");
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        writeAtomically(dir.resolve(CERTIFICATE), certificate);
        return answer;
    }

    private static void writeAtomically(Path file, String text) throws IOException {
        Path tmp = file.resolveSibling(file.getFileName() + ".tmp");
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    }
}
