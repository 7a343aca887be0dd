package io.aether.agentapi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The API's records refuse what the agent must never see, each refusal naming the field. */
@Timeout(10)
class ApiRecordsTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static String refusal(Runnable r) {
        return assertThrows(IllegalArgumentException.class, r::run).getMessage();
    }

    @Test
    void aCreateRequestTakesItsDefaultsAndRefusesBadFields() throws Exception {
        var spec = JSON.readTree("{\"boot\": {\"stub\": \"count\"}}");
        assertEquals(new CreateVm(spec, Map.of(), "never", null, true), new CreateVm(spec, null, null, null, null));
        assertEquals("restartPolicy: 'On-Failure' is not never, on-failure or always",
                refusal(() -> new CreateVm(spec, null, "On-Failure", null, null)));
        var array = JSON.readTree("[]");
        assertEquals("spec: expected an object", refusal(() -> new CreateVm(array, null, null, null, null)));
        assertEquals("id: '-x' is not a VM id (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)",
                refusal(() -> new CreateVm(spec, null, null, "-x", null)));
        assertEquals("id: '" + "a".repeat(64) + "...' is not a VM id (1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit)",
                refusal(() -> new CreateVm(spec, null, null, "a".repeat(65), null)));
        assertEquals("labels: 'bad key' is not a label key (1 to 63 letters, digits, '.', '_', '/' or '-')",
                refusal(() -> new CreateVm(spec, Map.of("bad key", "v"), null, null, null)));
        assertEquals("labels.k: at most 255 printable ASCII characters", refusal(() -> new CreateVm(spec, Map.of("k", "line\nbreak"), null, null, null)));
        Map<String, String> many = new HashMap<>();
        for (int i = 0; i < 33; i++) many.put("k" + i, "v");
        assertEquals("labels: 33 labels (at most 32)", refusal(() -> new CreateVm(spec, many, null, null, null)));
    }

    @Test
    void restartPoliciesAreNamedAsOnTheWire() {
        assertEquals("on-failure", RestartPolicy.ON_FAILURE.id());
        for (RestartPolicy p : RestartPolicy.values()) assertEquals(p, RestartPolicy.parse(p.id()));
    }

    @Test
    void aStopIsGracefulWithinTenSecondsUnlessSaidOtherwise() {
        assertEquals(new StopVm(true, 10_000L), new StopVm(null, null));
        assertEquals(new StopVm(false, 0L), StopVm.forced());
        assertEquals("timeoutMillis: 600001 is out of range (0 to 600000)", refusal(() -> new StopVm(true, 600_001L)));
        assertEquals("timeoutMillis: -1 is out of range (0 to 600000)", refusal(() -> new StopVm(true, -1L)));
    }
}
