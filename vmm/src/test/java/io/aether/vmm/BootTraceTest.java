package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class BootTraceTest {

    /**
     * The process's age from /proc: a command name with spaces and a ')' (the last ')' ends it),
     * starttime (the 22nd field) 4200 ticks = 42.00 s after boot, the uptime 45.67 s: 3.67 s.
     */
    @Test
    void theProcessAgeComesFromItsStartTimeAndTheUptime() {
        String stat = "1234 (java (x) y) S 1 1234 1234 0 -1 4194560 500 0 0 0 10 5 0 0 20 0 19 0 4200 5000000 3000 "
                + "18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
        assertEquals(3_670_000_000L, BootTrace.sinceStart(stat, "45.67 80.01\n"));
        assertEquals(0, BootTrace.sinceStart(stat, "41.99 80.01\n"), "a clock read before the start counts as none");
    }

    @Test
    void aLineSaysTheStepItsMillisecondsAndItsEndSinceTheStart() {
        assertEquals("trace-boot kernel-loaded 12.3 3456.7", BootTrace.line("kernel-loaded", 12_345_678, 3_456_789_012L));
        assertEquals("trace-boot vm-run 0.0 0.0", BootTrace.line("vm-run", 0, 0));
    }
}
