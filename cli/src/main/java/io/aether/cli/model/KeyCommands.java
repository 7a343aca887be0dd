package io.aether.cli.model;

import io.aether.security.AetherHome;
import io.aether.security.Identity;
import io.aether.security.KeyFiles;
import io.aether.security.KeyId;
import io.aether.security.TrustStore;
import java.io.IOException;
import java.nio.file.Files;
import java.security.PublicKey;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** Key management: your signing identity and the authors you trust. */
final class KeyCommands {

    private KeyCommands() {
    }

    @Command(name = "keygen", mixinStandardHelpOptions = true,
            description = {"Create your ML-DSA-65 signing key (FIPS 204) and trust it.", "",
                "Writes HOME/keys/identity.key (PKCS#8, readable only by you) and HOME/keys/identity.pub (X.509), and"
                        + " adds the public key to your trust store. Give identity.pub to the people and servers that"
                        + " should accept your commits ('aether model trust identity.pub' there). Refuses to overwrite"
                        + " an existing key.", ""})
    static final class Keygen extends ModelSubcommand {
        @Override
        int run() throws IOException {
            AetherHome home = repo.home();
            if (Files.exists(home.privateKeyFile())) {
                throw new IllegalArgumentException("a signing key already exists at " + home.privateKeyFile()
                        + " (key " + KeyId.of(KeyFiles.readPublic(home.publicKeyFile())).hex() + "); refusing to replace it");
            }
            Identity id = Identity.generate();
            id.save(home.privateKeyFile(), home.publicKeyFile());
            TrustStore.at(home.trustDir()).trust(id.publicKey());
            out().println("Created ML-DSA-65 key " + id.keyId().hex());
            out().println("  private: " + home.privateKeyFile() + " (mode 0600)");
            out().println("  public:  " + home.publicKeyFile() + " (share this one)");
            return 0;
        }
    }

    @Command(name = "trust", mixinStandardHelpOptions = true,
            description = {"Accept commits signed by the key in a public key file, or list trusted keys.", "",
                "Commits by keys that are not trusted are refused when read, fetched or pushed, with the key id in"
                        + " the message. Check the key id with its owner before trusting it.", "",
                "Examples:", "  aether model trust alice.pub", "  aether model trust --list", ""})
    static final class Trust extends ModelSubcommand {
        @Parameters(index = "0", arity = "0..1", paramLabel = "PUBKEY-FILE", description = "An ML-DSA-65 public key (PEM).")
        String file;

        @Option(names = "--list", description = "List the trusted key ids.")
        boolean list;

        @Override
        int run() throws IOException {
            TrustStore ts = TrustStore.at(repo.home().trustDir());
            if (list || file == null) {
                ts.keyIds().forEach(k -> out().println(k.hex()));
                return 0;
            }
            PublicKey key = KeyFiles.readPublic(repo.path(file));
            KeyId id = ts.trust(key);
            out().println("Trusted key " + id.hex());
            return 0;
        }
    }
}
