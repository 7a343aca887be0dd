/** Writing small ONNX models as protobuf bytes, for tests, demos and benchmarks. */
package io.aether.ai.onnx;
