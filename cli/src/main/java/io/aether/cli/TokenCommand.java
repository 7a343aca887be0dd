package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code aether token create}: a one-time, expiring join token from a fabric controller. */
@Command(name = "token", mixinStandardHelpOptions = true,
        description = {"Join tokens: a node joins the fabric once with one (it is used up then) before it expires.",
            "Dashboard login tokens (--dashboard): a browser logs in with one on the controller's --dashboard listener until it expires.", "",
            "Examples:",
            "  aether token create --ttl 1h",
            "  aether token create --dashboard --role operate --ttl 1h", ""},
        subcommands = TokenCommand.Create.class)
final class TokenCommand {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern TTL = Pattern.compile("([0-9]{1,7})([smhd])");

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a join token, or with --dashboard a dashboard login token (needs role admin). The token alone is"
                    + " printed on stdout (the controller keeps only its SHA-256, so it cannot be shown again); when it expires, and"
                    + " for a login where to use it, goes to stderr. A login lives on the controller that made it, in its memory: a"
                    + " restart of that controller ends it."})
    static final class Create implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        JobCommand.ControllerOptions controller;

        @Option(names = "--ttl", paramLabel = "DURATION", description = "How long it admits a node (10s to 7d) or a browser (10s to 1h), e.g. 90s, 30m, 1h, 2d (default: ${DEFAULT-VALUE}).")
        String ttl = "1h";

        @Option(names = "--dashboard", description = "A dashboard login token instead of a join token.")
        boolean dashboard;

        @Option(names = "--role", paramLabel = "ROLE", description = "With --dashboard: what the login may do: read, operate or admin (default: ${DEFAULT-VALUE}).")
        String role = "operate";

        @Override
        public Integer call() {
            Duration duration;
            try {
                duration = parseTtl(ttl);
            } catch (IllegalArgumentException e) {
                System.err.println("aether token create: " + e.getMessage());
                return VmRunCommand.STATUS_BAD_ARGUMENTS;
            }
            if (!dashboard && spec.commandLine().getParseResult().hasMatchedOption("--role")) {
                System.err.println("aether token create: --role: only with --dashboard");
                return VmRunCommand.STATUS_BAD_ARGUMENTS;
            }
            if (dashboard) return loginPrint(this, duration);
            return JobCommand.attempt("token create", () -> {
                JsonNode token = controller.client().post("/v1/tokens", JSON.createObjectNode().put("ttlSeconds", duration.toSeconds())).json(JsonNode.class);
                if (controller.json) {
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(token));
                    return;
                }
                System.out.println(token.path("token").asText());
                System.err.println("One node may join with it until " + token.path("expires").asText() + ".");
            });
        }
    }

    /** {@code --dashboard}: a session of the controller, its token on stdout; the controller checks the role and the range. */
    private static int loginPrint(Create create, Duration duration) {
        return JobCommand.attempt("token create", () -> {
            JsonNode session = create.controller.client().post("/v1/sessions", JSON.createObjectNode().put("role", create.role).put("ttlSeconds", duration.toSeconds()))
                    .requireOk().json(JsonNode.class);
            if (create.controller.json) {
                System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(session));
                return;
            }
            System.out.println(session.path("token").asText());
            System.err.println("Log in " + (session.has("url") ? "at " + session.path("url").asText() + " " : "on the controller's --dashboard listener ")
                    + "with it (role " + session.path("role").asText() + ") until " + session.path("expires").asText()
                    + "; session " + session.path("id").asText() + ".");
        });
    }

    /** {@code 90s}, {@code 30m}, {@code 1h}, {@code 2d}. The controller checks the range. */
    static Duration parseTtl(String text) {
        Matcher m = TTL.matcher(text);
        if (!m.matches()) throw new IllegalArgumentException("--ttl: '" + text + "' is not a duration like 90s, 30m, 1h or 2d");
        long n = Long.parseLong(m.group(1));
        return switch (m.group(2)) {
            case "s" -> Duration.ofSeconds(n);
            case "m" -> Duration.ofMinutes(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofDays(n);
        };
    }
}
