/**
 * Coverage-guided fuzzing for Aether's tests. A fuzz target is a static method taking a
 * {@link io.aether.testkit.fuzz.FuzzInput}; a JUnit test runs it with
 * {@link io.aether.testkit.fuzz.Fuzzer#fuzz}, which replays the target's corpus kept under
 * {@code src/test/resources/<package>/<TestClass>Inputs/<method>/}, then mutates it for a bounded
 * time, guided by edge coverage of Aether's classes. The classes are instrumented in a class
 * loader of the engine's own, with the JDK's class-file API: no agent or JVM option is needed.
 * docs/FUZZING.md describes the engine, the targets and {@code dev/fuzz.sh} for longer runs.
 */
package io.aether.testkit.fuzz;
