package io.aether.testkit;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A page in Debian's {@code chromium --headless=new}, driven through the DevTools protocol over
 * the JDK's WebSocket client: what {@code --dump-dom} cannot do (type, pick a file, click, then
 * watch the page change in real time).
 */
public final class DevToolsPage implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    /** What Chromium writes to stderr once its DevTools endpoint is up. */
    private static final Pattern LISTENING = Pattern.compile("DevTools listening on ws://([0-9.]+:[0-9]+)/");
    private static final Duration START_LIMIT = Duration.ofSeconds(30);
    private static final Duration CALL_LIMIT = Duration.ofSeconds(10);

    private final Process chromium;
    private final WebSocket socket;
    private final AtomicLong ids = new AtomicLong();
    private final Map<Long, CompletableFuture<JsonNode>> calls = new ConcurrentHashMap<>();
    private final List<JsonNode> events = new ArrayList<>();
    private static final int MAX_EVENTS = 10_000;

    private DevToolsPage(Process chromium, WebSocket socket) {
        this.chromium = chromium;
        this.socket = socket;
    }

    /** Starts Chromium on {@code url} with a fresh profile under {@code work} and attaches to its page. */
    public static DevToolsPage open(Path chromiumBinary, String url, Path work) throws IOException, InterruptedException {
        return open(chromiumBinary, url, work, List.of());
    }

    /**
     * As {@link #open(Path, String, Path)}, with Chromium's {@code flags} besides (such as
     * {@code --ignore-certificate-errors-spki-list=PIN}, which Chromium honours only with the
     * fresh {@code --user-data-dir} given here).
     */
    public static DevToolsPage open(Path chromiumBinary, String url, Path work, List<String> flags) throws IOException, InterruptedException {
        Path log = work.resolve("chromium-devtools.log");
        List<String> command = new ArrayList<>(List.of(chromiumBinary.toString(), "--headless=new",
                "--no-sandbox", // tests run as root in CI, where Chromium's sandbox refuses to start; the page is the test's own
                "--disable-gpu", "--no-first-run", "--disable-extensions", "--user-data-dir=" + work.resolve("devtools-profile"),
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0"));
        command.addAll(flags);
        command.add(url);
        Process process = new ProcessBuilder(command).redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(log.toFile()).start();
        try {
            String endpoint = endpoint(process, log);
            HttpClient http = HttpClient.newBuilder().connectTimeout(CALL_LIMIT).build();
            JsonNode targets = JSON.readTree(http.send(HttpRequest.newBuilder(URI.create("http://" + endpoint + "/json/list")).timeout(CALL_LIMIT).build(),
                    HttpResponse.BodyHandlers.ofString()).body());
            String pageSocket = null;
            for (JsonNode target : targets) {
                if (target.path("type").asText().equals("page")) pageSocket = target.path("webSocketDebuggerUrl").asText();
            }
            if (pageSocket == null) throw new AssertionError("chromium shows no page target: " + targets);
            DevToolsPage[] page = new DevToolsPage[1];
            WebSocket socket = http.newWebSocketBuilder().connectTimeout(CALL_LIMIT)
                    .buildAsync(URI.create(pageSocket), new Replies(reply -> page[0].settle(reply)))
                    .get(CALL_LIMIT.toSeconds(), TimeUnit.SECONDS);
            page[0] = new DevToolsPage(process, socket);
            return page[0];
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            destroy(process);
            throw e;
        } catch (Exception e) {
            destroy(process);
            throw new AssertionError("attaching to chromium's page: " + e, e);
        }
    }

    private static String endpoint(Process process, Path log) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_LIMIT.toNanos();
        while (System.nanoTime() < deadline) {
            Matcher listening = LISTENING.matcher(Files.readString(log));
            if (listening.find()) return listening.group(1);
            if (!process.isAlive()) throw new AssertionError("chromium exited " + process.exitValue() + "; its log: " + Files.readString(log));
            Thread.sleep(50);
        }
        throw new AssertionError("chromium opened no DevTools endpoint within " + START_LIMIT.toSeconds() + " s; its log: " + Files.readString(log));
    }

    /** The value of {@code expression} evaluated in the page (a promise is awaited); an exception in the page fails the test. */
    public JsonNode evaluate(String expression) throws Exception {
        ObjectNode params = JSON.createObjectNode().put("expression", expression).put("returnByValue", true).put("awaitPromise", true);
        JsonNode result = call("Runtime.evaluate", params);
        if (result.has("exceptionDetails")) throw new AssertionError(expression + " failed in the page: " + result.get("exceptionDetails"));
        return result.path("result").path("value");
    }

    /** Records the page's network events ({@code Network.*}) from now on: {@link #events} returns them. */
    public void recordNetwork() throws Exception {
        call("Network.enable", JSON.createObjectNode());
    }

    /** Loads {@code url} in the page, as if typed into the address bar. */
    public void navigate(String url) throws Exception {
        JsonNode answer = call("Page.navigate", JSON.createObjectNode().put("url", url));
        if (answer.has("errorText")) throw new AssertionError("chromium could not load " + url + ": " + answer.get("errorText").asText());
    }

    /** The parameters of each event {@code method} (such as {@code Network.responseReceived}) received so far, oldest first. */
    public List<JsonNode> events(String method) {
        synchronized (events) {
            return events.stream().filter(e -> e.path("method").asText().equals(method)).map(e -> e.path("params")).toList();
        }
    }

    /** Picks {@code file} in the page's file input {@code selector}, as a user would in the file dialog. */
    public void pickFile(String selector, Path file) throws Exception {
        long document = call("DOM.getDocument", JSON.createObjectNode()).path("root").path("nodeId").asLong();
        long input = call("DOM.querySelector", JSON.createObjectNode().put("nodeId", document).put("selector", selector)).path("nodeId").asLong();
        if (input == 0) throw new AssertionError("the page has no " + selector);
        ObjectNode params = JSON.createObjectNode().put("nodeId", input);
        params.putArray("files").add(file.toAbsolutePath().toString());
        call("DOM.setFileInputFiles", params);
    }

    private JsonNode call(String method, ObjectNode params) throws Exception {
        long id = ids.incrementAndGet();
        CompletableFuture<JsonNode> reply = new CompletableFuture<>();
        calls.put(id, reply);
        ObjectNode call = JSON.createObjectNode().put("id", id).put("method", method);
        call.set("params", params);
        socket.sendText(JSON.writeValueAsString(call), true).get(CALL_LIMIT.toSeconds(), TimeUnit.SECONDS);
        JsonNode answer;
        try {
            answer = reply.get(CALL_LIMIT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            throw new AssertionError("chromium did not answer " + method + " within " + CALL_LIMIT.toSeconds() + " s", e);
        } finally {
            calls.remove(id);
        }
        if (answer.has("error")) throw new AssertionError(method + " " + params + " failed: " + answer.get("error"));
        return answer.path("result");
    }

    /** Evaluates {@code expression} until its value passes {@code until}, and returns that value. */
    public JsonNode await(String expression, Predicate<JsonNode> until, Duration limit) throws Exception {
        long deadline = System.nanoTime() + limit.toNanos();
        JsonNode value = evaluate(expression);
        while (!until.test(value)) {
            if (System.nanoTime() > deadline) throw new AssertionError("after " + limit.toSeconds() + " s, " + expression + " is still " + value);
            Thread.sleep(100);
            value = evaluate(expression);
        }
        return value;
    }

    private void settle(JsonNode reply) {
        if (!reply.has("id")) {
            synchronized (events) {
                // Bounded: a test records a page's few loads, not a long session.
                if (events.size() < MAX_EVENTS) events.add(reply);
            }
            return;
        }
        CompletableFuture<JsonNode> call = calls.get(reply.path("id").asLong(-1));
        if (call != null) call.complete(reply);
    }

    @Override
    public void close() {
        socket.abort();
        destroy(chromium);
    }

    private static void destroy(Process process) {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
    }

    /** Joins a message's frames and hands each whole message on: a reply (with its call's id) or an event. */
    private record Replies(Consumer<JsonNode> onReply, StringBuilder frames) implements WebSocket.Listener {

        Replies(Consumer<JsonNode> onReply) {
            this(onReply, new StringBuilder());
        }

        @Override
        public CompletionStage<?> onText(WebSocket webSocket, CharSequence data, boolean last) {
            frames.append(data);
            if (last) {
                String message = frames.toString();
                frames.setLength(0);
                try {
                    onReply.accept(JSON.readTree(message));
                } catch (IOException e) {
                    throw new UncheckedIOException("chromium sent a message that is not JSON: " + message, e);
                }
            }
            webSocket.request(1);
            return null;
        }
    }
}
