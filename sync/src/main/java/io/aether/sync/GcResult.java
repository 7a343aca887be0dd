package io.aether.sync;

/**
 * What gc removed.
 *
 * @param reachable         objects kept
 * @param removed           unreachable objects deleted
 * @param bytesFreed        their total size
 * @param tempFilesRemoved  leftover temporary files deleted (from interrupted writes)
 * @param incomingRemoved   objects of unfinished transfers deleted
 */
public record GcResult(long reachable, long removed, long bytesFreed, long tempFilesRemoved, long incomingRemoved) {
}
