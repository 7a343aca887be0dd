package io.aether.ai;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/** A model's answer: its outputs by name (in the model's order), and which version of the model gave it. */
public record Prediction(String model, String version, Map<String, Tensor> outputs) {
    public Prediction {
        outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
    }

    public Tensor output(String name) {
        Tensor t = outputs.get(name);
        if (t == null) {
            throw new IllegalArgumentException("no output '" + name + "'; outputs: " + outputs.keySet());
        }
        return t;
    }
}
