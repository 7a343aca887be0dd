package io.aether.bench.vm;

/**
 * The floor of a JVM monitor's memory (docs/BENCHMARKS.md, memory per VM): a program that opens
 * nothing, prints one line and sleeps, measured with the monitor's JVM options beside the
 * monitors. With an argument it exits at once (a first run that writes its class-data archive).
 */
public final class IdleJvm {

    private IdleJvm() {
    }

    public static void main(String[] args) throws InterruptedException {
        System.out.println("idle");
        System.out.flush();
        if (args.length == 0) Thread.sleep(Long.MAX_VALUE);
    }
}
