/**
 * Property testing for Aether's tests: {@link io.aether.testkit.Gen generators} that mix in edge
 * cases, {@link io.aether.testkit.Property properties} run for many seeded tries inside ordinary
 * JUnit {@code @Test} methods, and {@link io.aether.testkit.Coverage coverage} checks that the
 * generators reach what a property is about.
 *
 * <p>A failure is shrunk before it is reported: the smallest case found that still fails the same
 * way comes first, then the try as it was generated ({@link io.aether.testkit.Property} says how).
 * A failure names its run seed; {@code -Daether.property.seed=<seed>} on the Maven command line
 * replays the same values, and {@code -Daether.property.tries=<n>} changes the number of tries of
 * properties that do not set their own. {@link io.aether.testkit.Prerequisites} is the CI policy
 * for tests that need what a machine may lack (skip here, fail under {@code CI=true});
 * {@link io.aether.testkit.HeadlessChromium} and {@link io.aether.testkit.DevToolsPage} load and
 * drive a page in Debian's Chromium (the dashboard tests of fabric and cli);
 * {@link io.aether.testkit.ProcessMappings} reads a process's mappings and KSM state from /proc. Its only
 * dependency is JUnit's API; modules add it with test scope.
 */
package io.aether.testkit;
