/**
 * The inference runtime: ONNX models served on ONNX Runtime from a {@link io.aether.ai.ModelSource}
 * (a signed model repository through {@link io.aether.ai.RepositoryModelSource}), with versions
 * switched and canaried under load, input validation against each version's signature, dynamic
 * batching and Prometheus metrics. {@link io.aether.ai.InferenceRuntime} is the library a host
 * embeds; {@link io.aether.ai.InferenceServer} puts it on HTTP (JSON and the binary
 * {@link io.aether.ai.TensorWireFormat}). The module's README documents the HTTP API.
 */
package io.aether.ai;
