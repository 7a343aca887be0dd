package io.aether.cli.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.aether.ai.ElementType;
import io.aether.ai.Dim;
import io.aether.ai.Tensor;
import io.aether.ai.onnx.OnnxModelBuilder;
import io.aether.cli.Main;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code aether model run} as a user runs it: a separate process, its admin token file, signals, its exit status. */
@Timeout(240)
class ModelRunCommandTest {

    private static final String JAVA = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    private static final Pattern SERVING = Pattern.compile("serving model 'double' from .* on (http://\\S+)");

    @TempDir
    Path tmp;

    /** A process of the aether command and what it printed so far. */
    private record Running(Process process, ByteArrayOutputStream out, ByteArrayOutputStream err, Thread[] readers) {
        String stdout() {
            synchronized (out) {
                return out.toString(StandardCharsets.UTF_8);
            }
        }

        String stderr() {
            synchronized (err) {
                return err.toString(StandardCharsets.UTF_8);
            }
        }

        /** Waits for the process to end and its output to be read; returns its exit status. */
        int exit() throws Exception {
            assertTrue(process.waitFor(60, TimeUnit.SECONDS), "aether model run did not stop: " + stdout() + stderr());
            for (Thread t : readers) {
                t.join();
            }
            return process.exitValue();
        }
    }

    private static Running start(String... args) throws IOException {
        List<String> command = new ArrayList<>(List.of(JAVA, "--enable-native-access=ALL-UNNAMED", Main.class.getName()));
        command.addAll(List.of(args));
        // The class path goes in the environment: ONNX Runtime 1.29 crashes (SIGSEGV in
        // OrtEnvironment.createHandle) when the process's command line is longer than about 3,800
        // characters, which the test class path passed with -cp exceeds. `aether` itself runs -jar.
        ProcessBuilder builder = new ProcessBuilder(command);
        builder.environment().put("CLASSPATH", System.getProperty("java.class.path"));
        Process p = builder.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        return new Running(p, out, err, new Thread[] {Thread.ofVirtual().start(() -> copy(p.getInputStream(), out)),
            Thread.ofVirtual().start(() -> copy(p.getErrorStream(), err))});
    }

    private static void copy(InputStream in, ByteArrayOutputStream out) {
        byte[] buffer = new byte[4096];
        try {
            int n;
            while ((n = in.read(buffer)) > 0) {
                synchronized (out) {
                    out.write(buffer, 0, n);
                }
            }
        } catch (IOException e) {
            // the process ended
        }
    }

    /** A repository whose main branch holds double.onnx (Y = 2X, X: float[N,1]), signed by HOME's key. */
    private Path repository(Path home) throws IOException {
        Path repo = tmp.resolve("repo");
        ModelCliTest.run("model", "keygen", "--home", home.toString()).ok();
        ModelCliTest.run("model", "init", repo.toString(), "--home", home.toString()).ok();
        Files.write(repo.resolve("double.onnx"), OnnxModelBuilder.create("double")
                .input("X", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1))
                .initializer("K", Tensor.ofFloats(new long[] {1}, 2))
                .node("Mul", List.of("X", "K"), List.of("Y"))
                .output("Y", ElementType.FLOAT, Dim.symbolic("N"), Dim.of(1))
                .build());
        ModelCliTest.run("model", "add", ".", "--home", home.toString(), "-C", repo.toString()).ok();
        ModelCliTest.run("model", "commit", "-m", "double", "--home", home.toString(), "-C", repo.toString()).ok();
        return repo;
    }

    /** Starts {@code model run} on a free port and waits until it serves; returns its base URI. */
    private static URI serving(Running run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
        while (System.nanoTime() < deadline && run.process().isAlive()) {
            Matcher m = SERVING.matcher(run.stdout());
            if (m.find()) {
                return URI.create(m.group(1));
            }
            Thread.sleep(50);
        }
        throw new AssertionError("model run did not start serving: " + run.stdout() + run.stderr());
    }

    private static HttpResponse<String> post(URI base, String path, String json, String... headers) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path)).POST(HttpRequest.BodyPublishers.ofString(json))
                .header("Content-Type", "application/json");
        for (int i = 0; i < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        return HttpClient.newHttpClient().send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void sigtermStopsTheServerCleanlyWithStatusZeroAndTheAdminTokenWorks() throws Exception {
        Path home = tmp.resolve("home");
        Path repo = repository(home);
        Running run = start("model", "run", repo + "@main", "--port", "0", "--admin", "--home", home.toString());
        URI base = serving(run);

        HttpResponse<String> predict = post(base, "/v1/models/double:predict", "{\"inputs\": {\"X\": [[1.5], [-2]]}}");
        assertEquals(200, predict.statusCode(), predict.body());
        assertTrue(predict.body().contains("\"data\":[3.0,-4.0]"), predict.body());

        // The token file the server created: owner-only, and what an admin client sends.
        Path tokenFile = home.resolve("inference/admin-token");
        assertTrue(run.stdout().contains("admin token in " + tokenFile), run.stdout());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(tokenFile)));
        String token = Files.readString(tokenFile).strip();
        assertEquals(401, post(base, "/v1/models/double:switch", "{\"ref\": \"main\"}").statusCode());
        HttpResponse<String> switched = post(base, "/v1/models/double:switch", "{\"ref\": \"main\"}",
                "Authorization", "Bearer " + token);
        assertEquals(200, switched.statusCode(), switched.body());

        // SIGTERM through the handle (Process.destroy() would also close our ends of its pipes).
        run.process().toHandle().destroy();
        int status = run.exit();
        assertEquals(0, status, "exit status; stdout: " + run.stdout() + " stderr: " + run.stderr());
        assertTrue(run.stderr().contains("aether model run: stopping on SIGTERM"), run.stderr());
    }

    @Test
    void sigintStopsItWithStatusZeroToo() throws Exception {
        Path home = tmp.resolve("home");
        Path repo = repository(home);
        Running run = start("model", "run", repo + "@main", "--port", "0", "--home", home.toString());
        serving(run);
        Process kill = new ProcessBuilder("kill", "-INT", Long.toString(run.process().pid())).start();
        assertTrue(kill.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, kill.exitValue());
        int status = run.exit();
        assertEquals(0, status, "exit status; stdout: " + run.stdout() + " stderr: " + run.stderr());
        assertTrue(run.stderr().contains("aether model run: stopping on SIGINT"), run.stderr());
    }

    @Test
    void helpSaysWhatTheExitStatusesAndTheAdminHeadersAre() {
        String help = ModelCliTest.run("model", "run", "--help").ok().out();
        assertTrue(help.contains("0   stopped by SIGINT (Ctrl-C) or SIGTERM"), help);
        assertTrue(help.contains("--admin-token-file"), help);
        assertTrue(help.contains("'Authorization: Bearer TOKEN'"), help);
        assertTrue(help.lines().allMatch(l -> l.length() <= 80), "fits 80 columns: " + help);
        assertTrue(help.contains("--max-in-flight"), help);
    }

    @Test
    void aTokenFileOthersCanReadIsRefused() throws Exception {
        Path home = tmp.resolve("home");
        Path repo = repository(home);
        Path file = tmp.resolve("token");
        Files.writeString(file, "0123456789abcdef0123\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
        ModelCliTest.Result r = ModelCliTest.run("model", "run", repo + "@main", "--port", "0", "--admin",
                "--admin-token-file", file.toString(), "--home", home.toString());
        assertEquals(1, r.status(), r.err());
        assertEquals("aether model run: admin token: " + file + ": admin token file is readable by others (mode rw-r--r--);"
                + " run chmod 600 " + file, r.err().strip());
        assertEquals(2, ModelCliTest.run("model", "run", repo + "@main", "--admin-token-file", file.toString()).status(),
                "--admin-token-file without --admin");
    }
}
