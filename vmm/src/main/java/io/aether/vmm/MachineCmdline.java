package io.aether.vmm;

import java.util.List;

/**
 * What the x86 machine tells its Linux guest on the kernel command line, as Firecracker's
 * default boot arguments do: an x86 kernel finds legacy devices by probing their ports, and
 * each probe is an exit to the monitor (about 0.85 ms each in the nested test host,
 * docs/BENCHMARKS.md (a)). Aether's x86 machine has no PCI bus and one 16550 (COM1), so a quiet
 * Debian boot's 462 PCI configuration probes and its 36 probes of COM2-COM4 are left out by
 * saying so (1,272 exits to the monitor became 778). A parameter the user's command line
 * already sets, to any value, is left as the user set it.
 */
final class MachineCmdline {

    /** Each parameter, and the prefix by which the user's own setting of it is recognised. */
    private record Parameter(String key, String text) {
    }

    private static final List<Parameter> X86 = List.of(
            new Parameter("pci", "pci=off"),
            new Parameter("8250.nr_uarts", "8250.nr_uarts=1"));

    private MachineCmdline() {
    }

    /** {@code user} with the x86 machine's parameters it does not set appended, before any {@code --} (what follows it is init's). */
    static String x86(String user) {
        int initArgs = initArguments(user);
        String kernelPart = initArgs < 0 ? user : user.substring(0, initArgs);
        StringBuilder added = new StringBuilder();
        for (Parameter p : X86) {
            if (!sets(kernelPart, p.key())) added.append(' ').append(p.text());
        }
        if (added.isEmpty()) return user;
        String head = kernelPart.stripTrailing();
        String machine = head.isEmpty() ? added.substring(1) : head + added;
        return initArgs < 0 ? machine : machine + " " + user.substring(initArgs);
    }

    /** Whether a word of {@code cmdline} is {@code key} or {@code key=...}. */
    private static boolean sets(String cmdline, String key) {
        for (String word : cmdline.split("\\s+")) {
            if (word.equals(key) || word.startsWith(key + "=")) return true;
        }
        return false;
    }

    /** Where a standalone {@code --} word starts (the kernel passes what follows to init), or -1. */
    private static int initArguments(String cmdline) {
        int at = 0;
        for (String word : cmdline.split(" ", -1)) {
            if (word.equals("--")) return at;
            at += word.length() + 1;
        }
        return -1;
    }
}
