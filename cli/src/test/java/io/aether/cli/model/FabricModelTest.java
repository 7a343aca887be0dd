package io.aether.cli.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.aether.ai.Dim;
import io.aether.ai.ElementType;
import io.aether.ai.Tensor;
import io.aether.ai.onnx.OnnxModelBuilder;
import io.aether.cli.Main;
import io.aether.http.ApiClient;
import io.aether.testkit.DevToolsPage;
import io.aether.testkit.HeadlessChromium;
import io.aether.testkit.Prerequisites;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A model job end to end: {@code aether up} as a real process, a signed model repository served by
 * {@code aether model serve-repo} on loopback, jobs submitted with {@code aether job run}. The node
 * syncs the repository, serves it as a process of its own, reports the serving URL, and a
 * prediction from that URL has the value the model's arithmetic gives; a commit by an untrusted
 * author and an unreachable repository fail with the reason; stopping the job ends the server.
 */
@Timeout(420)
class FabricModelTest {

    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Path EXAMPLES = Path.of(System.getProperty("user.dir")).getParent().resolve("examples");
    private static final Pattern DASHBOARD = Pattern.compile("Dashboard on (https://127\\.0\\.0\\.1:[0-9]+/) \\(TLS 1\\.3, X25519MLKEM768 preferred;"
            + " ECDSA P-256 certificate sha256:[0-9a-f]{64}, public key sha256/base64 ([A-Za-z0-9+/]{43}=)\\)");
    private static final Pattern LOGIN = Pattern.compile("  log in with (aether-session-[A-Za-z0-9_-]{43}) \\(role operate, until .*");

    @TempDir
    Path tmp;

    private final List<Process> ups = new ArrayList<>();

    /** What {@code up} printed on its standard output, up to its "Try:" line. */
    private final List<String> printed = new ArrayList<>();

    @AfterEach
    void stopEverything() throws Exception {
        for (Process up : ups) {
            up.destroy(); // SIGTERM: up stops its model servers on the way out
            if (!up.waitFor(30, TimeUnit.SECONDS)) up.destroyForcibly();
        }
        for (long pid : serverPids()) ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
    }

    /** The pids of the model servers the node has running, from their pid files. */
    private List<Long> serverPids() throws IOException {
        Path models = tmp.resolve("data/link/models");
        if (!Files.isDirectory(models)) return List.of();
        try (Stream<Path> files = Files.walk(models, 2)) {
            return files.filter(f -> f.getFileName().toString().equals("server.pid"))
                    .map(f -> {
                        try {
                            return Long.parseLong(Files.readString(f).strip().split(" ")[0]);
                        } catch (IOException e) {
                            return -1L;
                        }
                    }).filter(pid -> pid > 0).toList();
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** Starts {@code aether up} with {@code home} as its user's aether home (the node's trust store), and waits until it is up. */
    private Path up(Path home) throws Exception {
        ProcessBuilder builder = new ProcessBuilder(JAVA, "--enable-native-access=ALL-UNNAMED", Main.class.getName(), "up",
                "--data", tmp.resolve("data").toString(), "--name", "n1", "--raft-port", Integer.toString(freePort()), "--no-discovery")
                .redirectError(tmp.resolve("up.err").toFile());
        builder.environment().put("CLASSPATH", System.getProperty("java.class.path"));
        builder.environment().put("AETHER_HOME", home.toString());
        Process p = builder.start();
        ups.add(p);
        BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line;
        while ((line = out.readLine()) != null) {
            printed.add(line);
            if (line.startsWith("Try: ")) return tmp.resolve("data/controller/controller.sock");
        }
        throw new AssertionError("aether up ended: " + Files.readString(tmp.resolve("up.err")));
    }

    /**
     * A repository whose main branch holds the README's examples/double.onnx (Y = 2X) signed by
     * HOME's key, and whose rogue branch changes it to Y = 3X signed by ROGUE's.
     */
    private Path repository(Path home, Path rogue) throws IOException {
        Path repo = tmp.resolve("repo");
        ModelCliTest.run("model", "keygen", "--home", home.toString()).ok();
        ModelCliTest.run("model", "keygen", "--home", rogue.toString()).ok();
        // The two authors trust each other to work on one repository; the node trusts only HOME's key (see nodeTrust).
        ModelCliTest.run("model", "trust", home.resolve("keys/identity.pub").toString(), "--home", rogue.toString()).ok();
        ModelCliTest.run("model", "trust", rogue.resolve("keys/identity.pub").toString(), "--home", home.toString()).ok();
        ModelCliTest.run("model", "init", repo.toString(), "--home", home.toString()).ok();
        Files.copy(EXAMPLES.resolve("double.onnx"), repo.resolve("double.onnx"));
        ModelCliTest.run("model", "add", ".", "--home", home.toString(), "-C", repo.toString()).ok();
        ModelCliTest.run("model", "commit", "-m", "double", "--home", home.toString(), "-C", repo.toString()).ok();
        ModelCliTest.run("model", "checkout", "-b", "rogue", "--home", rogue.toString(), "-C", repo.toString()).ok();
        Files.write(repo.resolve("double.onnx"), multiplier(3));
        ModelCliTest.run("model", "add", ".", "--home", rogue.toString(), "-C", repo.toString()).ok();
        ModelCliTest.run("model", "commit", "-m", "not double", "--home", rogue.toString(), "-C", repo.toString()).ok();
        ModelCliTest.run("model", "checkout", "main", "--home", home.toString(), "-C", repo.toString()).ok();
        return repo;
    }

    /** Y = factor * X, X: float[N,1]. */
    private static byte[] multiplier(float factor) {
        return OnnxModelBuilder.create("double")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1))
                .initializer("K", Tensor.ofFloats(new long[] {1}, factor))
                .node("Mul", List.of("X", "K"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1))
                .build();
    }

    private Path job(String name, String repository, String ref, String restart) throws IOException {
        return Files.writeString(tmp.resolve(name + ".json"), "{\"name\": \"" + name + "\", \"workload\": {\"model\": {\"repository\": \"" + repository
                + "\", \"ref\": \"" + ref + "\"}}, \"resources\": {\"vcpus\": 1, \"memory\": \"64M\"}, \"restart\": \"" + restart + "\"}");
    }

    /** The job's first allocation once {@code done} holds for it (polled for at most 150 s). */
    private static JsonNode await(ApiClient controller, String job, Predicate<JsonNode> done, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(150);
        JsonNode allocation = null;
        while (System.nanoTime() < deadline) {
            allocation = controller.get("/v1/jobs/" + job).json(JsonNode.class).path("allocations").path(0);
            if (done.test(allocation)) return allocation;
            Thread.sleep(250);
        }
        throw new AssertionError(job + " never " + what + ": " + allocation);
    }

    /** HOME's repository (see {@link #repository}) served on loopback, and {@code up} with a node that trusts HOME's key. */
    private record Fabric(Path home, Path repo, ModelCliTest.Server server, Path controller) {
    }

    private Fabric serveAndUp() throws Exception {
        Path home = tmp.resolve("home");
        Path repo = repository(home, tmp.resolve("rogue"));
        ModelCliTest.Server server = ModelCliTest.Server.start(home, repo, "--public-read");
        try {
            Path nodeHome = tmp.resolve("node-home");
            ModelCliTest.run("model", "trust", home.resolve("keys/identity.pub").toString(), "--home", nodeHome.toString()).ok();
            return new Fabric(home, repo, server, up(nodeHome));
        } catch (Exception | AssertionError e) {
            server.stop();
            throw e;
        }
    }

    @Test
    void aModelJobServesAPredictionRefusesUntrustedAndUnreachableRepositoriesAndStopEndsTheServer() throws Exception {
        Fabric fabric = serveAndUp();
        Path home = fabric.home();
        Path repo = fabric.repo();
        ModelCliTest.Server server = fabric.server();
        try {
            Path socket = fabric.controller();
            ApiClient controller = ApiClient.unix(socket, Duration.ofSeconds(30));
            String url = "https://127.0.0.1:" + server.port();

            // The README's example job, pointed at this test's repository server.
            Path example = Files.writeString(tmp.resolve("double.json"), Files.readString(EXAMPLES.resolve("hello-model.json"))
                    .replace("\"hello-model\"", "\"double\"").replace("https://127.0.0.1:7443", url));
            ModelCliTest.Result submitted = ModelCliTest.run("job", "run", example.toString(), "--controller", socket.toString());
            assertEquals(0, submitted.status(), submitted.err());
            ModelCliTest.run("job", "run", job("rogue", url, "rogue", "on-failure").toString(), "--controller", socket.toString()).ok();

            JsonNode running = await(controller, "double", a -> a.path("state").asText().equals("running"), "ran");
            String serving = running.path("url").asText();
            assertTrue(serving.matches("http://127\\.0\\.0\\.1:[0-9]+/v1/models/double"), running.toString());
            String mainCommit = ModelCliTest.run("model", "log", "main", "--home", home.toString(), "-C", repo.toString()).ok().out();
            assertTrue(mainCommit.contains(running.path("commit").asText().substring(0, 12)), "serves main's commit: " + running + " " + mainCommit);

            // Y = 2X: 1.5 -> 3, -2 -> -4, worked out by hand, not by the runtime under test.
            HttpResponse<String> predict = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(serving + ":predict"))
                    .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"inputs\": {\"X\": [[1.5], [-2]]}}")).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, predict.statusCode(), predict.body());
            assertTrue(predict.body().contains("\"data\":[3.0,-4.0]"), predict.body());

            ModelCliTest.Result status = ModelCliTest.run("job", "status", "double", "--controller", socket.toString()).ok();
            assertTrue(status.out().contains("Model " + url + " at main."), status.out());
            assertTrue(status.out().lines().anyMatch(l -> l.matches("double\\.0 +n1 +running +1 +" + java.util.regex.Pattern.quote(serving) + " +[0-9a-f]{12} *")),
                    status.out());

            JsonNode refused = await(controller, "rogue", a -> a.path("state").asText().startsWith("failed"), "failed");
            assertTrue(refused.path("state").asText().matches("failed: refused: commit [0-9a-f]{12} refused: .*"), refused.toString());
            assertFalse(refused.has("url"), "nothing served: " + refused);
            assertFalse(Files.exists(tmp.resolve("data/link/models/rogue.0/server.pid")), "no server was started for the untrusted commit");

            long pid = Long.parseLong(Files.readString(tmp.resolve("data/link/models/double.0/server.pid")).strip().split(" ")[0]);
            assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "the server runs as process " + pid);
            ModelCliTest.run("job", "stop", "double", "--controller", socket.toString()).ok();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                assertTrue(System.nanoTime() < deadline, "the server " + pid + " outlived its job");
                Thread.sleep(200);
            }
            while (Files.exists(tmp.resolve("data/link/models/double.0"))) {
                assertTrue(System.nanoTime() < deadline, "the stopped allocation's repository was never removed");
                Thread.sleep(200);
            }
            JsonNode answer = JSON.readTree(controller.get("/v1/allocations").text());
            assertTrue(answer.path("allocations").valueStream().noneMatch(a -> a.path("job").asText().equals("double")), answer.toString());

            // Submitted once double's vCPU is free (this host may have two).
            int closed = freePort();
            ModelCliTest.run("job", "run", job("away", "https://127.0.0.1:" + closed, "main", "always").toString(), "--controller", socket.toString()).ok();
            JsonNode unreachable = await(controller, "away", a -> a.path("state").asText().matches("failed: try [3-9] in [0-9]+ s: sync of .* failed: .*"),
                    "failed and was retried");
            assertTrue(unreachable.path("state").asText().contains("https://127.0.0.1:" + closed), unreachable.toString());
        } finally {
            server.stop();
        }
    }

    /**
     * The whole browser path: Chromium opens the dashboard URL {@code up} printed, trusting exactly
     * the certificate's public key it printed, over X25519MLKEM768; refuses a bad login; logs in
     * with the printed token, submits the README's model job (pointed at this test's repository)
     * and sees it running, in the allocations table and the fabric's chart. A model job needs no
     * {@code /dev/kvm}: this test runs wherever Chromium does (the nested test host has none).
     */
    @Test
    void aBrowserLogsInSubmitsTheExampleModelJobAndSeesItRunning() throws Exception {
        Path chromium = HeadlessChromium.find().orElse(null);
        Prerequisites.require(chromium != null, "chromium (Debian package chromium) is not on the PATH: the end-to-end dashboard test drives it");
        Fabric fabric = serveAndUp();
        ModelCliTest.Server server = fabric.server();
        try {
            Matcher dashboard = printed.stream().map(DASHBOARD::matcher).filter(Matcher::matches).findFirst().orElseThrow(() -> new AssertionError(printed.toString()));
            Matcher login = printed.stream().map(LOGIN::matcher).filter(Matcher::matches).findFirst().orElseThrow(() -> new AssertionError(printed.toString()));
            String url = dashboard.group(1);
            String spec = Files.readString(EXAMPLES.resolve("hello-model.json")).replace("https://127.0.0.1:7443", "https://127.0.0.1:" + server.port());
            try (DevToolsPage page = DevToolsPage.open(chromium, "about:blank", tmp, List.of("--ignore-certificate-errors-spki-list=" + dashboard.group(2)))) {
                page.recordNetwork();
                page.navigate(url);
                // Until the page is there, the value says where the browser is (a certificate error page, say).
                page.await("(() => { const form = document.getElementById('login'); return form ? !form.hidden : location.href + ' ' + document.title; })()",
                        shown -> shown.isBoolean() && shown.asBoolean(), Duration.ofSeconds(20));
                JsonNode security = page.events("Network.responseReceived").stream().map(e -> e.path("response"))
                        .filter(r -> r.path("url").asText().equals(url)).findFirst().orElseThrow(() -> new AssertionError("no response of " + url)).path("securityDetails");
                assertEquals("TLS 1.3", security.path("protocol").asText(), security.toString());
                assertEquals("X25519MLKEM768", security.path("keyExchangeGroup").asText(), "the hybrid post-quantum group: " + security);

                page.evaluate("document.getElementById('login-token').value = 'aether-session-" + "A".repeat(43) + "'");
                page.evaluate("document.querySelector('#login button').click()");
                page.await("document.getElementById('login-answer').textContent",
                        answer -> answer.asText().equals("401 the session token is unknown, ended or expired: log in again"), Duration.ofSeconds(10));
                assertEquals(true, page.evaluate("document.querySelector('main').hidden").asBoolean(), "nothing shown without a login");

                page.evaluate("document.getElementById('login-token').value = '" + login.group(1) + "'");
                page.evaluate("document.querySelector('#login button').click()");
                page.await("document.getElementById('status').textContent", status -> status.asText().startsWith("updated "), Duration.ofSeconds(20));
                assertEquals("", page.evaluate("document.getElementById('login-token').value").asText(), "the token does not stay in the form");

                page.evaluate("document.getElementById('job-spec').value = " + JSON.writeValueAsString(spec));
                page.evaluate("document.querySelector('#submit-job button').click()");
                page.await("document.getElementById('submit-answer').textContent", answer -> answer.asText().equals("submitted: job hello-model version 1"),
                        Duration.ofSeconds(20));
                // The node syncs the model, checks its signature and serves it; the page shows what it reported.
                page.await("[...document.querySelectorAll('#allocations tbody tr')].map(row => [...row.cells].map(cell => cell.textContent).join('|')).sort().join(',')",
                        rows -> rows.asText().equals("hello-model|0|n1|1|512 MiB|0|running"), Duration.ofSeconds(90));
                JsonNode chart = page.await("(() => { const figure = [...document.querySelectorAll('#charts figure')]"
                        + ".find(f => f.querySelector('figcaption').textContent.startsWith('fabric:')); const canvas = figure.querySelector('canvas');"
                        + " return { width: canvas.width, height: canvas.height, legend: Object.fromEntries([...figure.querySelectorAll('tr.u-series')]"
                        + ".map(row => [row.querySelector('.u-label').textContent, row.querySelector('.u-value').textContent])) }; })()",
                        value -> value.path("legend").path("replicas running").asText().equals("1"), Duration.ofSeconds(10));
                assertTrue(chart.path("width").asInt() > 0 && chart.path("height").asInt() > 0, "the chart's canvas has a size: " + chart);
                assertEquals("1", chart.path("legend").path("replicas placed").asText(), chart.toString());
            }
        } finally {
            server.stop();
        }
    }
}
