package io.aether.testkit.fuzz;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ThreadLocalRandom;
import java.util.stream.Stream;

/**
 * Coverage-guided fuzzing of one target, run from a JUnit test.
 * <pre>{@code
 * @Test
 * void descriptorChains() {
 *     Fuzzer.fuzz(getClass(), "descriptorChains");
 * }
 *
 * static void descriptorChains(FuzzInput in) {
 *     // build a structure from the input, run the code under test, assert what must hold
 * }
 * }</pre>
 *
 * <p>The target is a static method taking a {@link FuzzInput}; it fails by throwing. The test's
 * class is loaded a second time with Aether's classes instrumented ({@link InstrumentingLoader}).
 * A run first replays the corpus kept with the sources ({@code <package>/<TestClass>Inputs/<method>/}
 * under {@code src/test/resources}) and the inputs earlier runs saved, then mutates corpus entries
 * for a bounded time, keeping each input that reached a new edge or a new hit count of one. The
 * first failure stops the run: the input is minimized, saved and shown in the {@link FuzzFailure}.
 * An execution running longer than {@value #HANG_MILLIS} ms (or {@link #hangMillis}) is a failure too.
 *
 * <p>System properties: {@value #SECONDS_PROPERTY} the time to fuzz after the replay (default
 * {@value #DEFAULT_SECONDS}, 0 only replays); {@value #SEED_PROPERTY} the random seed (reported
 * with each failure); {@value #DIR_PROPERTY} where new corpus entries and failing inputs go
 * (default {@code target/fuzz}); {@value #BLIND_PROPERTY}{@code =true} keeps no new inputs, a run
 * without coverage feedback to compare with; {@value #MERGE_PROPERTY}{@code =true} adds what the
 * run found to the kept corpus ({@link #merge}).
 */
public final class Fuzzer {

    public static final String SECONDS_PROPERTY = "aether.fuzz.seconds";
    public static final String SEED_PROPERTY = "aether.fuzz.seed";
    public static final String DIR_PROPERTY = "aether.fuzz.dir";
    public static final String BLIND_PROPERTY = "aether.fuzz.blind";
    public static final String MERGE_PROPERTY = "aether.fuzz.merge";
    public static final double DEFAULT_SECONDS = 2;
    public static final int DEFAULT_MAX_LENGTH = 4096;
    public static final long HANG_MILLIS = 10_000;
    private static final long MINIMIZE_MILLIS = 3_000;
    private static final int SHOWN_BYTES = 512;

    /** What a run did. {@code edges}: coverage map cells reached. */
    public record Result(long executions, int corpus, int edges, long millis) {
    }

    private final Class<?> testClass;
    private final String method;
    private int maxLength = DEFAULT_MAX_LENGTH;
    private double seconds = Double.parseDouble(System.getProperty(SECONDS_PROPERTY, String.valueOf(DEFAULT_SECONDS)));
    private long seed = parseSeed(System.getProperty(SEED_PROPERTY, String.valueOf(ThreadLocalRandom.current().nextLong())));
    private boolean blind = Boolean.getBoolean(BLIND_PROPERTY);
    private boolean merge = Boolean.getBoolean(MERGE_PROPERTY);
    private long hangMillis = HANG_MILLIS;
    private Path directory;
    private final Dictionary dictionary = new Dictionary();

    private Fuzzer(Class<?> testClass, String method) {
        this.testClass = testClass;
        this.method = method;
        this.directory = Path.of(System.getProperty(DIR_PROPERTY, "target/fuzz")).resolve(name());
    }

    /** A seed as failures print it ({@code 0x} and 64 bits of hex), or in decimal. */
    static long parseSeed(String text) {
        return text.startsWith("0x") || text.startsWith("0X") ? Long.parseUnsignedLong(text.substring(2), 16) : Long.parseLong(text);
    }

    /** The fuzz target {@code static void method(FuzzInput)} of {@code testClass}. */
    public static Fuzzer target(Class<?> testClass, String method) {
        return new Fuzzer(testClass, method);
    }

    /** Replays the corpus of a target and fuzzes it as the system properties say; throws {@link FuzzFailure}. */
    public static Result fuzz(Class<?> testClass, String method) {
        return target(testClass, method).run();
    }

    /** The longest input the mutator makes (default {@value #DEFAULT_MAX_LENGTH}). */
    public Fuzzer maxLength(int bytes) {
        this.maxLength = bytes;
        return this;
    }

    public Fuzzer seconds(double value) {
        this.seconds = value;
        return this;
    }

    public Fuzzer seed(long value) {
        this.seed = value;
        return this;
    }

    public Fuzzer blind(boolean value) {
        this.blind = value;
        return this;
    }

    /**
     * After a run without failure, adds to the corpus kept with the sources (under
     * {@code src/test/resources} of the working directory, the module) each input found that
     * reaches an edge the kept corpus and the inputs added before it do not, smallest first.
     */
    public Fuzzer merge(boolean value) {
        this.merge = value;
        return this;
    }

    /** How long one execution may take before it counts as a hang (default {@value #HANG_MILLIS}). */
    public Fuzzer hangMillis(long value) {
        this.hangMillis = value;
        return this;
    }

    /** Where new corpus entries ({@code corpus/}) and failing inputs go. */
    public Fuzzer directory(Path value) {
        this.directory = value;
        return this;
    }

    private String name() {
        return testClass.getSimpleName() + "." + method;
    }

    /** The corpus kept with the sources, as the test class path holds it; null if the target has none. */
    private Path sourceCorpus() {
        URL url = testClass.getResource(testClass.getSimpleName() + "Inputs/" + method);
        if (url == null) return null;
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException | IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
            throw new IllegalStateException("the corpus of " + name() + " is not a directory: " + url, e);
        }
    }

    public Result run() {
        Run run = new Run(load());
        Thread worker = Thread.ofPlatform().daemon().name("fuzz " + name()).unstarted(run);
        worker.start();
        try {
            while (worker.isAlive()) {
                worker.join(100);
                long started = run.executionStarted;
                if (started != 0 && System.nanoTime() - started > hangMillis * 1_000_000) {
                    byte[] input = run.current;
                    worker.interrupt();
                    FuzzFailure hang = run.failure("ran for more than " + hangMillis + " ms", null, input, input);
                    System.out.printf("fuzz %s: hung after %d executions (seed %#x)%n", name(), hang.executions(), seed);
                    throw hang;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while fuzzing " + name(), e);
        }
        if (run.failure != null) {
            System.out.printf("fuzz %s: failed after %d executions, %d ms (seed %#x)%n", name(), run.failure.executions(),
                    run.failure.millis(), seed);
            throw run.failure;
        }
        if (run.error != null) throw run.error;
        Result result = run.result();
        System.out.printf("fuzz %s: %d executions in %d ms, %d edges, corpus %d (seed %#x%s)%n", name(), result.executions(),
                result.millis(), result.edges(), result.corpus(), seed, blind ? ", blind" : "");
        return result;
    }

    private MethodHandle load() {
        InstrumentingLoader loader = new InstrumentingLoader(testClass.getClassLoader(), dictionary);
        try {
            Class<?> instrumented = loader.loadClass(testClass.getName());
            Method m = instrumented.getDeclaredMethod(method, FuzzInput.class);
            if (!java.lang.reflect.Modifier.isStatic(m.getModifiers())) throw new IllegalArgumentException(name() + " must be static");
            m.setAccessible(true);
            return MethodHandles.lookup().unreflect(m).asType(MethodType.methodType(void.class, FuzzInput.class));
        } catch (ReflectiveOperationException e) {
            throw new IllegalArgumentException("no fuzz target static void " + name() + "(FuzzInput)", e);
        }
    }

    /** One run on the worker thread: replay, then fuzz until the deadline or the first failure. */
    private final class Run implements Runnable {
        private final MethodHandle target;
        private final SplittableRandom random = new SplittableRandom(seed);
        private final Comparisons comparisons = new Comparisons();
        private final Mutator mutator = new Mutator(random, dictionary, comparisons, maxLength);
        private final List<byte[]> corpus = new ArrayList<>();
        private final byte[] virgin = new byte[Edges.MAP_SIZE];
        private final long start = System.nanoTime();
        private long executions;
        private Throwable lastThrown;
        volatile long executionStarted;
        volatile byte[] current;
        volatile FuzzFailure failure;
        volatile RuntimeException error;

        Run(MethodHandle target) {
            this.target = target;
        }

        @Override
        public void run() {
            try {
                replay();
                if (failure == null) fuzz();
                if (failure == null && merge) merge();
            } catch (IOException e) {
                error = new UncheckedIOException("fuzz " + name() + ": " + e.getMessage(), e);
            } catch (RuntimeException e) {
                error = e;
            }
        }

        private void replay() throws IOException {
            List<Path> files = new ArrayList<>();
            Path kept = sourceCorpus();
            if (kept != null) files.addAll(list(kept));
            files.addAll(list(directory.resolve("corpus")));
            for (Path file : files) {
                byte[] input = Files.readAllBytes(file);
                Throwable thrown = execute(input);
                if (thrown != null) {
                    failure = failure("fails on the corpus input " + file, thrown, input, input);
                    return;
                }
                corpus.add(input);
                newCoverage();
            }
            if (corpus.isEmpty()) corpus.add(new byte[0]);
        }

        private static List<Path> list(Path dir) throws IOException {
            if (!Files.isDirectory(dir)) return List.of();
            try (Stream<Path> s = Files.list(dir)) {
                return s.filter(Files::isRegularFile).sorted().toList();
            }
        }

        private void fuzz() throws IOException {
            long deadline = System.nanoTime() + (long) (seconds * 1e9);
            while (System.nanoTime() - deadline < 0 && !Thread.currentThread().isInterrupted()) {
                // The newest entry a third of the time: it is the one nearest to what was not reached yet.
                byte[] parent = corpus.get(random.nextInt(3) == 0 ? corpus.size() - 1 : random.nextInt(corpus.size()));
                byte[] child = mutator.mutate(parent, corpus);
                Throwable thrown = execute(child);
                if (thrown != null) {
                    byte[] small = minimize(child, signature(thrown));
                    Throwable cause = execute(small) != null ? lastThrown : thrown;
                    failure = failure("fails", cause, child, small);
                    return;
                }
                if (newCoverage() && !blind) {
                    corpus.add(child);
                    save(directory.resolve("corpus"), child);
                }
            }
        }

        /**
         * Adds to the kept corpus, smallest first, each input that reaches an edge the kept corpus
         * and the inputs added before it do not (hit counts aside, which would keep nearly all).
         */
        private void merge() throws IOException {
            Path kept = Path.of("src/test/resources", testClass.getPackageName().replace('.', '/'), testClass.getSimpleName() + "Inputs",
                    method);
            boolean[] reached = new boolean[Edges.MAP_SIZE];
            for (Path file : list(kept)) {
                execute(Files.readAllBytes(file));
                newEdges(reached);
            }
            List<byte[]> found = new ArrayList<>(corpus);
            found.sort(java.util.Comparator.comparingInt(b -> b.length));
            int added = 0;
            for (byte[] input : found) {
                if (execute(input) == null && newEdges(reached)) {
                    save(kept, input);
                    added++;
                }
            }
            System.out.printf("fuzz %s: merged %d inputs into %s%n", name(), added, kept);
        }

        private static boolean newEdges(boolean[] reached) {
            boolean found = false;
            for (int i = 0; i < Edges.MAP.length; i++) {
                if (Edges.MAP[i] != 0 && !reached[i]) {
                    reached[i] = true;
                    found = true;
                }
            }
            return found;
        }

        /** Runs the target once; returns what it threw, or null. */
        private Throwable execute(byte[] input) {
            Edges.reset();
            current = input;
            executions++;
            executionStarted = System.nanoTime();
            try {
                target.invokeExact(new FuzzInput(input));
                lastThrown = null;
            } catch (Throwable t) {
                lastThrown = t;
            } finally {
                executionStarted = 0;
            }
            if (!blind) comparisons.collect();
            return lastThrown;
        }

        /** Whether the last execution reached a map cell, or a hit-count bucket of one, for the first time. */
        private boolean newCoverage() {
            boolean found = false;
            byte[] map = Edges.MAP;
            // Eight cells at a time: most of the map stays zero.
            for (int word = 0; word < map.length; word += 8) {
                if ((long) LONGS.get(map, word) == 0) continue;
                for (int i = word; i < word + 8; i++) {
                    if (map[i] == 0) continue;
                    int bucket = bucket(map[i] & 0xFF);
                    if ((virgin[i] & bucket) == 0) {
                        virgin[i] |= (byte) bucket;
                        found = true;
                    }
                }
            }
            return found;
        }

        /** Shrinks a failing input while it fails the same way: drops blocks, halving their size, then zeroes bytes. */
        private byte[] minimize(byte[] input, String signature) {
            long until = System.nanoTime() + MINIMIZE_MILLIS * 1_000_000;
            byte[] best = input;
            for (int block = Math.max(1, best.length / 2); block >= 1; block /= 2) {
                for (int at = 0; at + block <= best.length && System.nanoTime() < until; ) {
                    byte[] candidate = new byte[best.length - block];
                    System.arraycopy(best, 0, candidate, 0, at);
                    System.arraycopy(best, at + block, candidate, at, best.length - at - block);
                    if (failsAlike(candidate, signature)) best = candidate;
                    else at += block;
                }
            }
            for (int i = 0; i < best.length && System.nanoTime() < until; i++) {
                if (best[i] == 0) continue;
                byte[] candidate = best.clone();
                candidate[i] = 0;
                if (failsAlike(candidate, signature)) best = candidate;
            }
            return best;
        }

        private boolean failsAlike(byte[] input, String signature) {
            Throwable t = execute(input);
            return t != null && signature(t).equals(signature);
        }

        FuzzFailure failure(String what, Throwable cause, byte[] found, byte[] shown) {
            long millis = (System.nanoTime() - start) / 1_000_000;
            String saved;
            try {
                saved = save(directory, shown).toString();
            } catch (IOException e) {
                saved = "not saved: " + e.getMessage();
            }
            String message = "fuzz target " + name() + " " + what + " after " + executions + " executions, " + millis + " ms (seed "
                    + String.format("%#x", seed) + "): " + cause
                    + "\ninput of " + shown.length + " bytes" + (shown.length < found.length ? " (minimized from " + found.length + ")" : "")
                    + ", saved as " + saved + ":\n" + hex(shown)
                    + "\nTo keep it as a regression input, copy it into src/test/resources/"
                    + testClass.getPackageName().replace('.', '/') + "/" + testClass.getSimpleName() + "Inputs/" + method + "/";
            return new FuzzFailure(message, cause, shown, executions, millis);
        }

        Result result() {
            int edges = 0;
            for (byte b : virgin) if (b != 0) edges++;
            return new Result(executions, corpus.size(), edges, (System.nanoTime() - start) / 1_000_000);
        }
    }

    /** The kind of a failure and the first frame of Aether's code it came from: the same bug, for minimization. */
    private static String signature(Throwable t) {
        for (StackTraceElement frame : t.getStackTrace()) {
            if (InstrumentingLoader.instrumented(frame.getClassName())) {
                return t.getClass().getName() + " at " + frame;
            }
        }
        return t.getClass().getName();
    }

    private static final java.lang.invoke.VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class,
            java.nio.ByteOrder.LITTLE_ENDIAN);
    private static final int[] BUCKETS = new int[256];

    static {
        for (int count = 1; count < 256; count++) {
            BUCKETS[count] = count <= 3 ? 1 << (count - 1) : count < 8 ? 8 : count < 16 ? 16 : count < 32 ? 32 : count < 128 ? 64 : 128;
        }
    }

    /** AFL's hit-count classes: 1, 2, 3, 4-7, 8-15, 16-31, 32-127, 128+. */
    static int bucket(int count) {
        return BUCKETS[count];
    }

    private static Path save(Path dir, byte[] input) throws IOException {
        Files.createDirectories(dir);
        Path file = dir.resolve(sha1(input));
        if (!Files.exists(file)) Files.write(file, input);
        return file;
    }

    private static String sha1(byte[] input) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(input));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** A hex dump; a run of lines equal to the one before shows as one "*", as hexdump prints it. */
    private static String hex(byte[] input) {
        StringBuilder s = new StringBuilder();
        HexFormat hex = HexFormat.ofDelimiter(" ");
        String previous = null;
        boolean skipping = false;
        for (int at = 0; at < Math.min(input.length, SHOWN_BYTES); at += 32) {
            String line = hex.formatHex(input, at, Math.min(input.length, at + 32));
            if (line.equals(previous)) {
                if (!skipping) s.append("  *\n");
                skipping = true;
                continue;
            }
            skipping = false;
            previous = line;
            s.append(String.format("  %04x: ", at)).append(line).append('\n');
        }
        if (input.length > SHOWN_BYTES) s.append("  ... ").append(input.length - SHOWN_BYTES).append(" more bytes\n");
        return s.toString();
    }
}
