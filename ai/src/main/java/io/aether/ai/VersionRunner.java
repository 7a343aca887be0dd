package io.aether.ai;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Runs one version's session: a bounded queue of predictions and worker threads that take
 * them, merge compatible ones into one batch (dynamic batching) when the signature allows,
 * run the session and split the outputs back.
 *
 * <p>Workers are platform threads: a session run is a native call that would pin a virtual
 * thread's carrier for its whole duration.
 */
final class VersionRunner {

    private static final Logger LOG = Logger.getLogger(VersionRunner.class.getName());

    /** A queued prediction; {@code key} groups requests whose non-batch dimensions agree. */
    record Pending(Map<String, Tensor> inputs, long rows, long bytes, String key,
                   CompletableFuture<Map<String, Tensor>> result, long enqueuedNanos) {
    }

    /** Merged inputs stay well below the 2 GiB a Java array (and so a {@link Tensor}) can hold. */
    static final long MAX_MERGED_BYTES = 1L << 30;

    private final OrtEnvironment env;
    private final OrtSession session;
    private final ModelSignature signature;
    private final VersionMetrics metrics;
    private final int batchMax;
    private final long delayNanos;
    private final BlockingQueue<Pending> queue;
    private final List<Thread> workers = new ArrayList<>();
    private volatile boolean batching;
    private volatile boolean stopped;

    VersionRunner(OrtEnvironment env, OrtSession session, ModelSignature signature, RuntimeConfig config,
                  VersionMetrics metrics) {
        this.env = env;
        this.session = session;
        this.signature = signature;
        this.metrics = metrics;
        this.batchMax = config.batchMax();
        this.delayNanos = config.batchDelay().toNanos();
        this.batching = config.batchMax() > 1 && signature.batchable();
        this.queue = new LinkedBlockingQueue<>(config.queueCapacity());
        for (int i = 0; i < config.workers(); i++) {
            workers.add(Thread.ofPlatform().daemon().name("aether-ai-" + metrics.model + "-" + shortId(metrics.version)
                    + "-" + i).unstarted(this::work));
        }
    }

    private static String shortId(String version) {
        return version.length() > 12 ? version.substring(0, 12) : version;
    }

    void start() {
        workers.forEach(Thread::start);
    }

    boolean batching() {
        return batching;
    }

    int queued() {
        return queue.size();
    }

    /** Queues a validated prediction; the future completes with its outputs or an {@link InferenceException}. */
    CompletableFuture<Map<String, Tensor>> submit(Map<String, Tensor> inputs, long rows) throws InferenceException {
        CompletableFuture<Map<String, Tensor>> result = new CompletableFuture<>();
        long bytes = 0;
        for (Tensor t : inputs.values()) {
            bytes += t.byteLength();
        }
        Pending p = new Pending(inputs, rows, bytes, batching ? trailingKey(inputs) : "", result, System.nanoTime());
        if (!queue.offer(p)) {
            throw new InferenceException(InferenceException.Reason.OVERLOADED, "model '" + metrics.model + "' version "
                    + metrics.version + " has " + queue.size() + " predictions waiting; try again later");
        }
        return result;
    }

    private String trailingKey(Map<String, Tensor> inputs) {
        StringBuilder b = new StringBuilder();
        for (TensorSpec spec : signature.inputs()) {
            long[] shape = inputs.get(spec.name()).shape();
            for (int i = 1; i < shape.length; i++) {
                b.append(shape[i]).append(',');
            }
            b.append(';');
        }
        return b.toString();
    }

    /** Stops the workers; called once no prediction is queued or running (the version's last reference went). */
    void stop() {
        stopped = true;
        for (Thread t : workers) {
            t.interrupt();
        }
    }

    private void work() {
        Scratch scratch = new Scratch();
        Pending carry = null;
        while (!stopped) {
            List<Pending> batch = new ArrayList<>();
            try {
                Pending first = carry != null ? carry : queue.take();
                carry = null;
                batch.add(first);
                long rows = first.rows();
                long bytes = first.bytes();
                if (batching && rows > 0) {
                    long deadline = first.enqueuedNanos() + delayNanos;
                    while (rows < batchMax) {
                        long wait = deadline - System.nanoTime();
                        Pending next = wait > 0 ? queue.poll(wait, TimeUnit.NANOSECONDS) : queue.poll();
                        if (next == null) {
                            break;
                        }
                        if (!next.key().equals(first.key()) || next.rows() == 0 || rows + next.rows() > batchMax
                                || bytes + next.bytes() > MAX_MERGED_BYTES) {
                            carry = next; // starts the next batch
                            break;
                        }
                        batch.add(next);
                        rows += next.rows();
                        bytes += next.bytes();
                    }
                }
                execute(batch, rows, scratch);
            } catch (InterruptedException e) {
                fail(batch, "the model version was unloaded");
                if (carry != null) {
                    fail(List.of(carry), "the model version was unloaded");
                }
                return;
            } catch (RuntimeException | Error e) {
                LOG.log(Level.SEVERE, "inference worker of " + metrics.model + " " + metrics.version + " failed", e);
                fail(batch, "internal error: " + e);
            }
        }
    }

    private static void fail(List<Pending> batch, String message) {
        for (Pending p : batch) {
            p.result().completeExceptionally(new InferenceException(InferenceException.Reason.FAILED, message));
        }
    }

    private void execute(List<Pending> batch, long rows, Scratch scratch) {
        if (batch.size() == 1) {
            Pending p = batch.getFirst();
            complete(p, () -> timedRun(p.inputs(), p.rows(), scratch));
            return;
        }
        Map<String, Tensor> merged = new HashMap<>();
        for (TensorSpec spec : signature.inputs()) {
            merged.put(spec.name(), concat(batch, spec.name(), rows));
        }
        Map<String, Tensor> outputs;
        try {
            outputs = timedRun(merged, rows, scratch);
        } catch (InferenceException e) {
            // One request's data can make a run fail (an index out of range, say): rerun them
            // one by one so that only that request fails, not the others merged with it.
            for (Pending p : batch) {
                complete(p, () -> timedRun(p.inputs(), p.rows(), scratch));
            }
            return;
        }
        for (Tensor out : outputs.values()) {
            if (out.rank() == 0 || out.dim(0) != rows) {
                // The model's first output dimension is not the batch after all: stop merging.
                batching = false;
                LOG.warning("model " + metrics.model + " version " + metrics.version + ": an output's first dimension ("
                        + (out.rank() == 0 ? "scalar" : out.dim(0)) + ") is not the batch of " + rows
                        + " rows; running its requests one at a time from now on");
                for (Pending p : batch) {
                    complete(p, () -> timedRun(p.inputs(), p.rows(), scratch));
                }
                return;
            }
        }
        long offset = 0;
        for (Pending p : batch) {
            Map<String, Tensor> mine = new LinkedHashMap<>();
            for (Map.Entry<String, Tensor> e : outputs.entrySet()) {
                mine.put(e.getKey(), slice(e.getValue(), offset, p.rows(), rows));
            }
            offset += p.rows();
            p.result().complete(mine);
        }
    }

    private interface Run {
        Map<String, Tensor> get() throws InferenceException;
    }

    private static void complete(Pending p, Run run) {
        try {
            p.result().complete(run.get());
        } catch (InferenceException e) {
            p.result().completeExceptionally(e);
        }
    }

    private static Tensor concat(List<Pending> batch, String input, long rows) {
        Tensor first = batch.getFirst().inputs().get(input);
        long[] shape = first.shape();
        shape[0] = rows;
        long total = 0;
        for (Pending p : batch) {
            total += p.inputs().get(input).byteLength();
        }
        byte[] data = new byte[Math.toIntExact(total)];
        int at = 0;
        for (Pending p : batch) {
            byte[] part = p.inputs().get(input).rawData();
            System.arraycopy(part, 0, data, at, part.length);
            at += part.length;
        }
        return Tensor.wrap(first.type(), shape, data);
    }

    /** Rows [offset, offset+count) of a tensor whose first dimension is {@code rows}: row-major, so one byte range. */
    private static Tensor slice(Tensor t, long offset, long count, long rows) {
        long[] shape = t.shape();
        shape[0] = count;
        int rowBytes = (int) (t.byteLength() / rows);
        byte[] data = new byte[(int) (rowBytes * count)];
        System.arraycopy(t.rawData(), (int) (rowBytes * offset), data, 0, data.length);
        return Tensor.wrap(t.type(), shape, data);
    }

    /** A counted run, failed or not: the batch size and run time go to the version's metrics. */
    private Map<String, Tensor> timedRun(Map<String, Tensor> inputs, long rows, Scratch scratch)
            throws InferenceException {
        long start = System.nanoTime();
        try {
            return runOnce(env, session, signature, inputs, scratch);
        } finally {
            metrics.batchRows.observe(rows);
            metrics.runDuration.observe((System.nanoTime() - start) / 1e9);
        }
    }

    /**
     * A worker's native input memory, reused run after run: ONNX Runtime reads inputs from
     * direct buffers, and allocating one per request would leave freeing them to the garbage
     * collector. Grows to the largest request the worker has run.
     */
    static final class Scratch {
        private ByteBuffer buffer = ByteBuffer.allocateDirect(0);

        ByteBuffer take(int bytes) {
            if (buffer.capacity() < bytes) {
                buffer = ByteBuffer.allocateDirect(Math.max(bytes, buffer.capacity() * 2));
            }
            return buffer.clear().order(ByteOrder.nativeOrder());
        }
    }

    /**
     * One session run, uncounted (the load-time warm-up uses it too). Inputs are copied into
     * {@code scratch}; all native objects are closed before it returns, so the scratch memory is
     * free again.
     */
    static Map<String, Tensor> runOnce(OrtEnvironment env, OrtSession session, ModelSignature signature,
                                       Map<String, Tensor> inputs, Scratch scratch) throws InferenceException {
        Map<String, OnnxTensor> onnxInputs = new HashMap<>();
        try {
            int total = 0;
            for (Tensor t : inputs.values()) {
                total += t.byteLength();
            }
            ByteBuffer memory = scratch.take(total);
            for (Map.Entry<String, Tensor> e : inputs.entrySet()) {
                Tensor t = e.getValue();
                ByteBuffer slice = memory.slice(memory.position(), t.byteLength()).order(ByteOrder.nativeOrder());
                slice.put(t.rawData()).flip();
                memory.position(memory.position() + t.byteLength());
                onnxInputs.put(e.getKey(), OnnxTensor.createTensor(env, slice, t.shape(), t.type().ortType()));
            }
            Map<String, Tensor> outputs = new LinkedHashMap<>();
            try (OrtSession.Result result = session.run(onnxInputs)) {
                for (TensorSpec spec : signature.outputs()) {
                    Optional<OnnxValue> v = result.get(spec.name());
                    if (v.isEmpty() || !(v.get() instanceof OnnxTensor out)) {
                        throw new InferenceException(InferenceException.Reason.FAILED,
                                "output '" + spec.name() + "' is missing or not a tensor");
                    }
                    outputs.put(spec.name(), toTensor(spec, out));
                }
            }
            return outputs;
        } catch (OrtException e) {
            throw new InferenceException(InferenceException.Reason.FAILED, "ONNX Runtime failed: " + e.getMessage(), e);
        } finally {
            onnxInputs.values().forEach(OnnxTensor::close);
        }
    }

    private static Tensor toTensor(TensorSpec spec, OnnxTensor out) throws InferenceException {
        TensorInfo info = out.getInfo();
        if (ElementType.fromOrt(info.onnxType).orElse(null) != spec.type()) {
            throw new InferenceException(InferenceException.Reason.FAILED, "output '" + spec.name() + "' has element type "
                    + LoadedVersion.ortTypeName(info) + ", not the declared " + spec.type().label());
        }
        // ONNX Runtime copies the output in the platform's order; it ships for little-endian
        // platforms only (x86-64, arm64), which is the order Tensor keeps.
        ByteBuffer b = out.getByteBuffer(); // a fresh heap copy: take its array when it is exactly the data
        byte[] data;
        if (b.hasArray() && b.arrayOffset() == 0 && b.position() == 0 && b.array().length == b.remaining()) {
            data = b.array();
        } else {
            data = new byte[b.remaining()];
            b.get(data);
        }
        return Tensor.wrap(spec.type(), info.getShape(), data);
    }
}
