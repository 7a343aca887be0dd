package io.aether.testkit.fuzz;

import java.io.IOException;
import java.io.InputStream;

/**
 * Loads Aether's classes (all of {@code io.aether} but the engine's shared classes) a second time, with coverage
 * probes, and leaves everything else to its parent. The fuzz target and the code it calls then
 * run instrumented in their own copies, while the engine and the target share {@link Edges} and
 * {@link FuzzInput} through the parent. No agent and no JVM option is needed.
 */
final class InstrumentingLoader extends ClassLoader {

    private static final String INSTRUMENTED = "io.aether.";
    /** What the engine and the target must share: one copy each, from the parent. */
    private static final java.util.Set<String> SHARED = java.util.Set.of(Edges.class.getName(), FuzzInput.class.getName(),
            FuzzFailure.class.getName(), Fuzzer.class.getName());

    static {
        registerAsParallelCapable();
    }

    private final EdgeInstrumenter instrumenter;

    InstrumentingLoader(ClassLoader parent, Dictionary dictionary) {
        super("fuzz", parent);
        this.instrumenter = new EdgeInstrumenter(parent, dictionary);
    }

    static boolean instrumented(String className) {
        int nested = className.indexOf('$');
        return className.startsWith(INSTRUMENTED) && !SHARED.contains(nested < 0 ? className : className.substring(0, nested));
    }

    @Override
    protected Class<?> loadClass(String name, boolean resolve) throws ClassNotFoundException {
        if (!instrumented(name)) return super.loadClass(name, resolve);
        synchronized (getClassLoadingLock(name)) {
            Class<?> c = findLoadedClass(name);
            if (c == null) {
                byte[] original;
                try (InputStream in = getParent().getResourceAsStream(name.replace('.', '/') + ".class")) {
                    if (in == null) throw new ClassNotFoundException(name);
                    original = in.readAllBytes();
                } catch (IOException e) {
                    throw new ClassNotFoundException(name, e);
                }
                byte[] bytes = instrumenter.instrument(original);
                c = defineClass(name, bytes, 0, bytes.length);
            }
            if (resolve) resolveClass(c);
            return c;
        }
    }
}
