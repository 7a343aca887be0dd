package io.aether.sync;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IncomingBatchTest {

    @TempDir
    Path tmp;

    private static byte[] chunk(int seed, int length) {
        byte[] data = TestModels.bytes(seed, length);
        return Codec.encodeChunk(data, 0, data.length);
    }

    @Test
    void objectsAreWrittenEveryWriteBatchObjects() throws IOException {
        Repository repo = Fixture.init(tmp.resolve("r"));
        IncomingBatch batch = new IncomingBatch(repo);
        List<ObjectId> ids = new ArrayList<>();
        for (int i = 0; i < Repository.WRITE_BATCH + 1; i++) {
            byte[] enc = chunk(i, 100);
            ids.add(ObjectId.hash(enc));
            batch.add(ids.getLast(), enc);
            assertEquals(i + 1 >= Repository.WRITE_BATCH, repo.incoming.has(ids.getFirst()), "after " + (i + 1));
        }
        assertFalse(repo.incoming.has(ids.getLast()));
        batch.finish();
        for (ObjectId id : ids) {
            assertTrue(repo.incoming.has(id));
            assertFalse(repo.objects.has(id), "incoming objects are not promoted here");
        }
    }

    @Test
    void largeObjectsAreWrittenOnceTheyReachTheByteLimit() throws IOException {
        Repository repo = Fixture.init(tmp.resolve("r"));
        IncomingBatch batch = new IncomingBatch(repo);
        byte[] first = chunk(1, (int) (IncomingBatch.MAX_BYTES / 2));
        byte[] second = chunk(2, (int) (IncomingBatch.MAX_BYTES / 2));
        batch.add(ObjectId.hash(first), first);
        assertFalse(repo.incoming.has(ObjectId.hash(first)));
        batch.add(ObjectId.hash(second), second);
        assertTrue(repo.incoming.has(ObjectId.hash(first)), "two objects, but over the byte limit: written");
        assertTrue(repo.incoming.has(ObjectId.hash(second)));
    }

    @Test
    void anObjectThatDoesNotMatchItsIdIsRefused() throws IOException {
        Repository repo = Fixture.init(tmp.resolve("r"));
        IncomingBatch batch = new IncomingBatch(repo);
        byte[] enc = chunk(1, 100);
        batch.add(ObjectId.hash(chunk(2, 100)), enc);
        assertThrows(CorruptObjectException.class, batch::finish);
        assertFalse(repo.incoming.has(ObjectId.hash(enc)));
    }
}
