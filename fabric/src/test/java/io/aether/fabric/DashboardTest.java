package io.aether.fabric;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.aether.discovery.Beacon;
import io.aether.discovery.BeaconSender;
import io.aether.discovery.MulticastGroup;
import io.aether.fabricapi.Node;
import io.aether.http.ApiClient;
import io.aether.http.Listener;
import io.aether.security.KeyId;
import io.aether.testkit.DevToolsPage;
import io.aether.testkit.HeadlessChromium;
import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The controller's dashboard, loaded in headless Chromium through a TCP forward of the controller's Unix socket. */
@Timeout(60)
class DashboardTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String HOSTILE = "<img src=x onerror=alert(1)>";
    /** {@link #HOSTILE} as an HTML serializer writes it in a text node. */
    private static final String HOSTILE_AS_TEXT = "&lt;img src=x onerror=alert(1)&gt;";
    private static final String ANSWER = "document.getElementById('submit-answer').textContent";
    private static final Pattern LEGEND_ROW = Pattern.compile("<div class=\"u-label\">([^<]*)</div></th><td class=\"u-value\">([^<]*)</td>");
    private static final String POLICY = "default-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    @TempDir
    Path dir;

    @Test
    void showsNodesJobsAllocationsAndEventsWithEveryValueAsText() throws Exception {
        Path chromium = HeadlessChromium.find().orElse(null);
        Prerequisites.require(chromium != null, "chromium (Debian package chromium) is not on the PATH: the dashboard test loads the page in it");
        Path socket = dir.resolve("controller.sock");
        // Plans only on a submit, so what the page shows is settled before it loads.
        MulticastGroup group = DiscoveryApiTest.freshGroup();
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)), Duration.ofHours(1),
                Optional.of(group));
                UnixSocketForward forward = new UnixSocketForward(socket);
                BeaconSender stranger = BeaconSender.start(group, () -> new Beacon(Beacon.Role.NODE, "edge-9", new KeyId("cd".repeat(32)), 7444, Instant.now()),
                        Duration.ofMillis(200))) {
            JoinTokens tokens = new JoinTokens(controller.fabric(), Clock.systemUTC(), new SecureRandom());
            // A node's label values are free text: the one place a node's own words reach the page.
            assertInstanceOf(Outcome.Applied.class, tokens.join(tokens.create(Duration.ofMinutes(5)).secret(), Fabrics.node("edge-1", 4, 4096, Map.of("rack", HOSTILE))
                    .withVolumes(new Node.VolumeSpace(1L << 30, 1L << 30, 0)), Fabrics.key("edge-1")));
            assertInstanceOf(Outcome.Applied.class, tokens.join(tokens.create(Duration.ofMinutes(5)).secret(), Fabrics.node("edge-2", 4, 4096, Map.of()), Fabrics.key("edge-2")));
            assertInstanceOf(Outcome.Applied.class, controller.fabric().propose(new Command.RevokeNode("edge-2", Instant.now())));
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (api.get("/v1/nodes/pending").json(JsonNode.class).path("pending").isEmpty()) {
                assertTrue(System.nanoTime() < deadline, "edge-9's beacon never came");
                Thread.sleep(50);
            }
            ObjectNode web = JSON.createObjectNode().put("name", "web");
            web.putObject("workload").putObject("vm").put("memory", "128M").putObject("boot").put("kernel", "/vm/vmlinuz").put("cmdline", "console=ttyS0 " + HOSTILE);
            web.putObject("resources").put("vcpus", 1).put("memory", "256M");
            web.putArray("volumes").addObject().put("name", "data").put("size", "64M");
            ApiClient.Reply submitted = api.post("/v1/jobs", web);
            assertEquals(201, submitted.status(), submitted.text());
            ObjectNode huge = JSON.createObjectNode().put("name", "huge");
            huge.putObject("workload").putObject("vm").putObject("boot").put("stub", "hello");
            huge.putObject("resources").put("vcpus", 64).put("memory", "32M");
            assertEquals(201, api.post("/v1/jobs", huge).status());

            HeadlessChromium.Page page = HeadlessChromium.load(chromium, "http://127.0.0.1:" + forward.port() + "/", dir, Duration.ofSeconds(5));

            assertEquals(List.of(), page.console(), "the page logs nothing: no CSP violation, no script error");
            String dom = page.dom();
            assertTrue(dom.contains("<td>edge-1</td><td class=\"state-READY\">READY</td><td>rack=" + HOSTILE_AS_TEXT + "</td><td>1 / 4</td><td>256 MiB / 4096 MiB</td><td>1</td>"), dom);
            assertTrue(dom.contains("<td>edge-2</td><td class=\"state-REVOKED\">REVOKED</td><td></td><td>0 / 4</td><td>0 MiB / 4096 MiB</td><td>0</td>"), dom);
            assertTrue(dom.matches("(?s).*<td>edge-9</td><td class=\"state-PENDING\">PENDING</td><td>discovered at [0-9.]+, not registered</td><td></td><td></td><td></td>.*"), dom);
            assertTrue(dom.contains("<td>web</td><td>1</td><td>vm {\"kernel\":\"/vm/vmlinuz\",\"cmdline\":\"console=ttyS0 " + HOSTILE_AS_TEXT + "\"}</td><td>0</td><td>1 / 1</td><td class=\"pending\"></td>"), dom);
            assertTrue(dom.contains("<td>huge</td><td>1</td><td>vm {\"stub\":\"hello\"}</td><td>0</td><td>0 / 1</td><td class=\"pending\">1 of 1 replicas have no node: "), dom);
            assertTrue(dom.contains("<td>web</td><td>0</td><td>edge-1</td><td>1</td><td>256 MiB</td><td>0</td><td class=\"state-placed\">placed</td>"), dom);
            assertTrue(dom.contains("<td>data</td><td>web</td><td>0</td><td>edge-1</td><td>64 MiB</td><td class=\"state-attached\">attached</td>"),
                    "the job volume, bound to its replica's node: " + dom);
            assertTrue(dom.contains("Z NODE_JOINED node edge-1: capacity 4 vCPUs, 4G, labels {rack=" + HOSTILE_AS_TEXT + "}</li>"), dom);
            assertTrue(dom.contains("Z ALLOCATION_PLACED allocation web.0: on node edge-1</li>"), dom);
            assertFalse(dom.contains("<img"), "a value became markup: " + dom);
            assertTrue(dom.contains("<p id=\"status\" role=\"status\" class=\"\">updated "), dom);
            // uPlot draws each chart on a canvas inside a .uplot element; its legend shows the newest sample.
            assertEquals(3, Pattern.compile("<div class=\"uplot u-hz\">").matcher(dom).results().count(), "the fabric's chart and one per joined node: " + dom);
            assertEquals(3, Pattern.compile("<canvas width=\"[1-9][0-9]*\" height=\"[1-9][0-9]*\">").matcher(dom).results().count(), "every chart's canvas has a size: " + dom);
            assertEquals(Map.of("replicas placed", "1", "replicas running", "0", "replicas pending", "1", "events per refresh", "0"),
                    legend(dom, "fabric: replicas placed, running and pending, events per refresh"));
            assertEquals(Map.of("vCPUs allocated", "1", "vCPUs capacity", "4", "memory allocated MiB", "256", "memory capacity MiB", "4096"),
                    legend(dom, "node edge-1: allocated against capacity"));
            assertEquals(Map.of("vCPUs allocated", "0", "vCPUs capacity", "4", "memory allocated MiB", "0", "memory capacity MiB", "4096"),
                    legend(dom, "node edge-2: allocated against capacity"));
        }
    }

    @Test
    void submitsAJobFromTheFormAndShowsItPlaced() throws Exception {
        Path chromium = HeadlessChromium.find().orElse(null);
        Prerequisites.require(chromium != null, "chromium (Debian package chromium) is not on the PATH: the dashboard test drives the page in it");
        Path socket = dir.resolve("controller.sock");
        Path helloStub = Path.of(System.getProperty("user.dir")).getParent().resolve("examples/hello-stub.json");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)));
                UnixSocketForward forward = new UnixSocketForward(socket)) {
            JoinTokens tokens = new JoinTokens(controller.fabric(), Clock.systemUTC(), new SecureRandom());
            assertInstanceOf(Outcome.Applied.class, tokens.join(tokens.create(Duration.ofMinutes(5)).secret(), Fabrics.node("edge-1", 4, 4096, Map.of()), Fabrics.key("edge-1")));
            try (DevToolsPage page = DevToolsPage.open(chromium, "http://127.0.0.1:" + forward.port() + "/", dir)) {
                page.await("document.getElementById('status')?.textContent ?? ''", status -> status.asText().startsWith("updated "), Duration.ofSeconds(20));

                // Pasted: a spec with a bad field is refused with the controller's 400, which names it.
                String example = Files.readString(helloStub);
                ObjectNode bad = (ObjectNode) JSON.readTree(example);
                bad.put("replicas", 0);
                page.evaluate("document.getElementById('job-spec').value = " + JSON.writeValueAsString(JSON.writeValueAsString(bad)));
                page.evaluate("document.querySelector('#submit-job button').click()");
                JsonNode refused = page.await(ANSWER, answer -> !answer.asText().isEmpty() && !answer.asText().equals("submitting…"), Duration.ofSeconds(10));
                assertTrue(refused.asText().startsWith("400 replicas: 0 is out of range (1 to "), refused.asText());
                assertEquals("failing", page.evaluate("document.getElementById('submit-answer').className").asText());
                assertEquals(0, ApiClient.unix(socket, Duration.ofSeconds(10)).get("/v1/jobs").json(JsonNode.class).path("jobs").size(), "nothing half-created");

                // Picked: a file over the controller's limit on a spec (512 KiB) is not read.
                Path huge = Files.write(dir.resolve("huge.json"), new byte[512 * 1024 + 1]);
                page.pickFile("#job-file", huge);
                page.await(ANSWER, answer -> answer.asText().equals("huge.json is 524289 bytes; a job spec is at most 524288"), Duration.ofSeconds(10));
                assertEquals(JSON.writeValueAsString(bad), page.evaluate("document.getElementById('job-spec').value").asText());

                // Picked: the example file fills the text area and is accepted.
                page.pickFile("#job-file", helloStub);
                page.await("document.getElementById('job-spec').value", spec -> spec.asText().equals(example), Duration.ofSeconds(10));
                page.evaluate("document.querySelector('#submit-job button').click()");
                page.await(ANSWER, answer -> answer.asText().equals("submitted: job hello-stub version 1"), Duration.ofSeconds(10));

                // The next refreshes show the job with both replicas placed on edge-1.
                page.await(rows("jobs"), rows -> rows.toString().contains("\"hello-stub|1|vm {\\\"stub\\\":\\\"count\\\"}|0|2 / 2|\""), Duration.ofSeconds(15));
                JsonNode allocations = page.await(rows("allocations"), rows -> rows.size() == 2, Duration.ofSeconds(15));
                assertEquals(List.of("hello-stub|0|edge-1|1|32 MiB|0|placed", "hello-stub|1|edge-1|1|32 MiB|0|placed"),
                        List.of(allocations.get(0).asText(), allocations.get(1).asText()).stream().sorted().toList());
            }
        }
    }

    /** An expression for the rows of the page's table {@code id}, each row's cells joined by {@code |}. */
    private static String rows(String id) {
        return "[...document.querySelectorAll('#" + id + " tbody tr')].map(row => [...row.cells].map(cell => cell.textContent).join('|'))";
    }

    /** The series and values in the legend of the chart captioned {@code caption}, the time axis left out. */
    private static Map<String, String> legend(String dom, String caption) {
        int start = dom.indexOf("<figcaption>" + caption + "</figcaption>");
        assertTrue(start >= 0, "no chart " + caption + ": " + dom);
        String figure = dom.substring(start, dom.indexOf("</figure>", start));
        Map<String, String> values = new TreeMap<>();
        LEGEND_ROW.matcher(figure).results().filter(row -> !row.group(1).equals("Time")).forEach(row -> values.put(row.group(1), row.group(2)));
        return values;
    }

    @Test
    void servesOnlyItsOwnFilesUnderAStrictPolicy() throws IOException {
        Path socket = dir.resolve("controller.sock");
        try (Controller controller = Controller.start(Fabrics.group(dir, 1, 1000).getFirst(), List.of(new Listener.UnixSocket(socket)))) {
            ApiClient api = ApiClient.unix(socket, Duration.ofSeconds(10));
            ApiClient.Reply page = api.get("/").requireOk();
            assertEquals("text/html; charset=utf-8", page.headers().get("content-type"));
            assertEquals(POLICY, page.headers().get("content-security-policy"));
            assertEquals("nosniff", page.headers().get("x-content-type-options"));
            assertTrue(page.text().contains("<script src=\"/ui/uPlot.iife.min.js\" defer></script>\n<script src=\"/ui/app.js\" defer></script>"), page.text());
            assertFalse(page.text().contains("<script>"), "no inline script: " + page.text());
            assertEquals("text/javascript; charset=utf-8", api.get("/ui/app.js").requireOk().headers().get("content-type"));
            assertEquals("text/css; charset=utf-8", api.get("/ui/style.css").requireOk().headers().get("content-type"));
            ApiClient.Reply uplot = api.get("/ui/uPlot.iife.min.js").requireOk();
            assertEquals("text/javascript; charset=utf-8", uplot.headers().get("content-type"));
            assertTrue(uplot.text().startsWith("/*! https://github.com/leeoniya/uPlot (v1.6.30) */"), "uPlot's own browser build: " + uplot.text().substring(0, 80));
            assertTrue(api.get("/ui/uPlot.min.css").requireOk().text().contains(".uplot"));
            assertEquals(404, api.get("/ui/uPlot.cjs.js").status(), "only the webjar's files the page needs");
            assertEquals(POLICY, api.get("/v1/nodes").headers().get("content-security-policy"), "the API's answers carry the policy too");
            assertEquals(404, api.get("/ui/index.html.bak").status());
            assertEquals(404, api.get("/ui/Dashboard.class").status());
            assertEquals(400, api.get("/ui/..%2FController.class").status());
        }
    }
}
