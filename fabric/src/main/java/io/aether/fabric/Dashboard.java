package io.aether.fabric;

import io.aether.http.ApiError;
import io.aether.http.Response;
import io.aether.http.Router;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * The controller's web dashboard: one page at {@code /} and its script and style under
 * {@code /ui/}, and the API's OpenAPI document at {@code /openapi.json}, read from this jar once. The page only reads the {@code /v1} API (no build step,
 * no third-party code); every answer carries the http module's {@code default-src 'self'} policy,
 * so the page runs no inline script and loads nothing from elsewhere.
 */
final class Dashboard {

    private static final String RESOURCES = "/io/aether/fabric/ui/";
    /** Only these names are served: a request never reaches the class path with a name of its own. */
    private static final Map<String, String> ASSETS = Map.of(
            "app.js", "text/javascript; charset=utf-8",
            "style.css", "text/css; charset=utf-8");

    private final Response page;
    private final Map<String, Response> assets;
    /** The controller's OpenAPI document, beside the page that reads the API it describes. */
    private final Response apiDocument;

    private Dashboard() {
        page = load(RESOURCES + "index.html", "text/html; charset=utf-8");
        assets = ASSETS.entrySet().stream().collect(Collectors.toUnmodifiableMap(Map.Entry::getKey, e -> load(RESOURCES + e.getKey(), e.getValue())));
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
        try (InputStream in = Dashboard.class.getResourceAsStream(resource)) {
            if (in == null) throw new IllegalStateException(resource + " is missing from the jar");
            return new Response.Text(200, contentType, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + resource + " from the jar", e);
        }
    }
}
