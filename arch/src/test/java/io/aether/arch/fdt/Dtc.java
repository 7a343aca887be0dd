package io.aether.arch.fdt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.aether.testkit.Prerequisites;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * Debian's device-tree-compiler as an independent reader: {@code dtc -I dtb -O dts} parses a blob
 * and prints its source. Missing dtc skips the test, or fails it under {@code CI=true}.
 */
public final class Dtc {

    /** What dtc printed: the source on stdout, its warnings on stderr. */
    public record Decompiled(String source, String warnings) {
    }

    private Dtc() {
    }

    /** Decompiles {@code dtb}, failing the test when dtc rejects it. */
    public static Decompiled decompile(byte[] dtb, Path dir) throws IOException, InterruptedException {
        Prerequisites.require(available(), "dtc (Debian package device-tree-compiler) is not installed");
        Path blob = Files.write(dir.resolve("tree.dtb"), dtb);
        Path out = dir.resolve("dtc.out");
        Path err = dir.resolve("dtc.err");
        Process p = new ProcessBuilder("dtc", "-I", "dtb", "-O", "dts", blob.toString())
                .redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        if (!p.waitFor(30, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("dtc did not finish in 30 s");
        }
        String warnings = Files.readString(err, StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), "dtc rejected the blob: " + warnings);
        return new Decompiled(Files.readString(out, StandardCharsets.UTF_8), warnings);
    }

    private static boolean available() {
        try {
            Process p = new ProcessBuilder("dtc", "--version").redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            return p.waitFor(10, TimeUnit.SECONDS) && p.exitValue() == 0;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
