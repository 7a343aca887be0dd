package io.aether.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * A process's memory as the kernel reports it, for tests that check what a process did to it:
 * its mappings and their flags ({@code /proc/PID/smaps}) and its same-page merging state
 * ({@code /proc/PID/ksm_stat}).
 */
public final class ProcessMappings {

    private ProcessMappings() {
    }

    /** One mapping: {@code [start, end)} and its {@code VmFlags} ({@code mg}: mergeable by KSM, VM_MERGEABLE). */
    public record Mapping(long start, long end, List<String> flags) {
        public long size() {
            return end - start;
        }

        public boolean contains(long address) {
            return start <= address && address < end;
        }

        public boolean mergeable() {
            return flags.contains("mg");
        }
    }

    /** The mappings of process {@code pid}, in address order. */
    public static List<Mapping> of(long pid) throws IOException {
        List<Mapping> out = new ArrayList<>();
        long start = -1;
        long end = -1;
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/smaps"))) {
            int dash = line.indexOf('-');
            int space = line.indexOf(' ');
            if (dash > 0 && space > dash && line.substring(0, dash).chars().allMatch(HexFormat::isHexDigit)) {
                start = Long.parseUnsignedLong(line.substring(0, dash), 16);
                end = Long.parseUnsignedLong(line.substring(dash + 1, space), 16);
            } else if (line.startsWith("VmFlags:")) {
                out.add(new Mapping(start, end, List.of(line.substring("VmFlags:".length()).strip().split(" +"))));
            }
        }
        return out;
    }

    /**
     * Whether this kernel merges whole processes ({@code PR_SET_MEMORY_MERGE}, Linux 6.4 and
     * later): its {@code ksm_stat} then reports {@code ksm_merge_any}. Read from the kernel, not
     * from the code under test.
     */
    public static boolean kernelMergesWholeProcesses() throws IOException {
        Path stat = Path.of("/proc/self/ksm_stat");
        return Files.exists(stat) && Files.readString(stat).contains("ksm_merge_any");
    }

    /** A field of {@code /proc/PID/ksm_stat}, whose lines read "ksm_merging_pages 0" or "ksm_merge_any: yes". */
    public static String ksmStat(long pid, String field) throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/" + pid + "/ksm_stat"))) {
            String[] words = line.split("[: ]+");
            if (words.length == 2 && words[0].equals(field)) return words[1];
        }
        throw new AssertionError("/proc/" + pid + "/ksm_stat has no " + field);
    }
}
