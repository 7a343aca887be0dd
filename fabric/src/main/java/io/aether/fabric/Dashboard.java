package io.aether.fabric;

import io.aether.http.ApiError;
import io.aether.http.Response;
import io.aether.http.Router;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Properties;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The controller's web dashboard: one page at {@code /} and its script and style under
 * {@code /ui/}, read from this jar once, beside uPlot's browser build and stylesheet read from its
 * webjar, and the API's OpenAPI document at {@code /openapi.json}. The page only reads the {@code /v1} API (no build step); every answer carries the http
 * module's {@code default-src 'self'} policy, so the page runs no inline script and loads nothing
 * from elsewhere (uPlot styles its elements through the CSSOM, which that policy allows).
 */
final class Dashboard {

    private static final String RESOURCES = "/io/aether/fabric/ui/";
    private static final String SCRIPT = "text/javascript; charset=utf-8";
    private static final String STYLE = "text/css; charset=utf-8";
    /** Only these names are served: a request never reaches the class path with a name of its own. */
    private static final Map<String, String> ASSETS = Map.of("app.js", SCRIPT, "style.css", STYLE);
    /** The webjar's files under {@code dist/}: its browser build (no module loader) and its stylesheet. */
    private static final Map<String, String> UPLOT_ASSETS = Map.of("uPlot.iife.min.js", SCRIPT, "uPlot.min.css", STYLE);
    /** Names the webjar's version, which is also the folder its files are under. */
    private static final String UPLOT_PROPERTIES = "/META-INF/maven/org.webjars.npm/uplot/pom.properties";

    private final Response page;
    private final Map<String, Response> assets;
    /** The controller's OpenAPI document, beside the page that reads the API it describes. */
    private final Response apiDocument;

    private Dashboard() {
        page = load(RESOURCES + "index.html", "text/html; charset=utf-8");
        String uplot = "/META-INF/resources/webjars/uplot/" + uplotVersion() + "/dist/";
        assets = Stream.concat(
                        ASSETS.entrySet().stream().map(e -> Map.entry(e.getKey(), load(RESOURCES + e.getKey(), e.getValue()))),
                        UPLOT_ASSETS.entrySet().stream().map(e -> Map.entry(e.getKey(), load(uplot + e.getKey(), e.getValue()))))
                .collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, Map.Entry::getValue));
        apiDocument = load("/io/aether/fabric/openapi.json", "application/json");
    }

    /** Adds the dashboard's routes to {@code router}. */
    static Router mount(Router router) {
        Dashboard dashboard = new Dashboard();
        return router.get("/", req -> dashboard.page)
                .get("/ui/{file}", req -> dashboard.asset(req.param("file")))
                .get("/openapi.json", req -> dashboard.apiDocument);
    }

    private Response asset(String name) {
        Response asset = assets.get(name);
        if (asset == null) throw new ApiError.NotFound("no dashboard file " + name).exception();
        return asset;
    }

    private static Response load(String resource, String contentType) {
        return new Response.Text(200, contentType, new String(read(resource), StandardCharsets.UTF_8));
    }

    private static String uplotVersion() {
        Properties properties = new Properties();
        try {
            properties.load(new ByteArrayInputStream(read(UPLOT_PROPERTIES)));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + UPLOT_PROPERTIES, e);
        }
        String version = properties.getProperty("version");
        if (version == null || !version.matches("[0-9.]+")) throw new IllegalStateException(UPLOT_PROPERTIES + " names no version: " + version);
        return version;
    }

    private static byte[] read(String resource) {
        try (InputStream in = Dashboard.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException("the dashboard's " + resource + " is missing from the class path");
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the dashboard's " + resource + " from the class path", e);
        }
    }
}
