package io.aether.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code aether client create|revoke}: client identities of the fabric, each with a role. */
@Command(name = "client", mixinStandardHelpOptions = true,
        description = {"Client identities: an ML-DSA-65 key and a certificate from a controller's CA naming the client and its role.",
            "Roles: read (every GET), operate (also job run and stop, node drain), admin (also tokens, node revoke, clients).",
            "A client uses its identity with --controller HOST:PORT (and --identity DIR); the controller's Unix socket",
            "stays the local administrator's way in. Only an admin may create or revoke clients.", "",
            "Examples:",
            "  aether client create ci --role operate --out ./ci-identity",
            "  aether job ls --controller 10.0.0.1:7443 --identity ./ci-identity",
            "  aether client revoke ci", ""},
        subcommands = {ClientCommand.Create.class, ClientCommand.Revoke.class})
final class ClientCommand {

    private static final ObjectMapper JSON = new ObjectMapper();

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Make a key in --out and have the controller issue it a certificate as client NAME with --role. The private"
                    + " key never leaves this machine. Refused if --out already holds a key."})
    static final class Create implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME", description = "The client's name (a-z, 0-9, '.', '_', '-'); never reused, even once revoked.")
        String name;

        @Option(names = "--role", paramLabel = "ROLE", required = true, description = "read, operate or admin.")
        String role;

        @Option(names = "--out", paramLabel = "DIR", description = "Where to write client.key (0600), client.pub, client.crt, authority.crt and"
                + " controller (default: ./NAME).")
        Path out;

        @Mixin
        JobCommand.ControllerOptions controller;

        @Override
        public Integer call() {
            Path dir = out != null ? out : Path.of(name);
            return JobCommand.attempt("client create", () -> {
                JsonNode answer = ClientIdentity.create(controller.client(), name, role, dir);
                if (controller.json) {
                    System.out.println(JSON.writerWithDefaultPrettyPrinter().writeValueAsString(answer));
                    return;
                }
                System.out.println("Client " + name + " (role " + role + ") in " + dir.toAbsolutePath()
                        + (answer.has("controller") ? "" : "; the controller has no TLS listener, so there is no controller to pin yet"));
            });
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true, description = "Refuse client NAME's certificate from now on, at every controller.")
    static final class Revoke implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Mixin
        JobCommand.ControllerOptions controller;

        @Override
        public Integer call() {
            return JobCommand.attempt("client revoke", () -> {
                controller.client().post("/v1/clients/" + name + "/revoke", null).requireOk();
                System.out.println("Client " + name + " is revoked.");
            });
        }
    }
}
