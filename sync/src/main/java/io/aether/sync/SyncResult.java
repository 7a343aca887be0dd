package io.aether.sync;

/**
 * What a fetch or push did.
 *
 * @param ref               the remote ref (full name, e.g. {@code refs/heads/main})
 * @param before            the commit the receiving side had for it before (null if none)
 * @param after             the commit it has now
 * @param upToDate          nothing needed to move
 * @param objects           objects transferred
 * @param objectBytes       their uncompressed size
 * @param bytesSent         HTTP payload bytes this side sent (request bodies)
 * @param bytesReceived     HTTP payload bytes this side received (response bodies)
 * @param wireBytesSent     bytes this side wrote to TCP (TLS records, handshakes and HTTP headers included)
 * @param wireBytesReceived bytes this side read from TCP
 */
public record SyncResult(String ref, ObjectId before, ObjectId after, boolean upToDate, long objects, long objectBytes,
                         long bytesSent, long bytesReceived, long wireBytesSent, long wireBytesReceived) {
}
