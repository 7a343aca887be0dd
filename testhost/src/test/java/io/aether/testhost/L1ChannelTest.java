package io.aether.testhost;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 60, unit = TimeUnit.SECONDS)
class L1ChannelTest {

    private static List<String> lines(byte[] sent) throws IOException {
        List<String> lines = new ArrayList<>();
        L1Channel.read(Channels.newChannel(new ByteArrayInputStream(sent)), lines::add);
        return lines;
    }

    @Test
    void splitsLinesDropsCarriageReturnsAndEmptyLinesAndKeepsAnUnfinishedLast() throws IOException {
        assertEquals(List.of("[    0.1] one", "AETHER-L1-ALIVE 1.02", "tail"),
                lines("[    0.1] one\r\n\r\n\nAETHER-L1-ALIVE 1.02\ntail".getBytes(StandardCharsets.UTF_8)));
    }

    @Test
    void cutsALineAtItsBound() throws IOException {
        byte[] sent = ("x".repeat(L1Channel.MAX_LINE * 2 + 5) + "\nnext\n").getBytes(StandardCharsets.US_ASCII);
        List<String> got = lines(sent);
        assertEquals(List.of(L1Channel.MAX_LINE, L1Channel.MAX_LINE, 5, 4), got.stream().map(String::length).toList());
        assertEquals("next", got.getLast());
    }

    @Test
    void deliversWhatAPeerWritesToTheSocketThenRemovesIt() throws Exception {
        List<String> got = new CopyOnWriteArrayList<>();
        Path socket;
        try (L1Channel channel = L1Channel.open()) {
            assertTrue(channel.serialArgument().startsWith("unix:"), channel.serialArgument());
            socket = Path.of(channel.serialArgument().substring("unix:".length()));
            Thread reader = channel.start(got::add);
            try (SocketChannel peer = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                peer.connect(UnixDomainSocketAddress.of(socket));
                peer.write(ByteBuffer.wrap("AETHER-L1-ALIVE 3.00\r\n[    3.5] kvm: Nested Paging enabled\r\n"
                        .getBytes(StandardCharsets.US_ASCII)));
            }
            reader.join(TimeUnit.SECONDS.toMillis(30));
            assertFalse(reader.isAlive(), "the reader ends when the peer closes");
        }
        assertEquals(List.of("AETHER-L1-ALIVE 3.00", "[    3.5] kvm: Nested Paging enabled"), got);
        assertFalse(Files.exists(socket.getParent()), "closing removes the socket's directory");
    }

    @Test
    void closingEndsAReaderWhosePeerNeverCame() throws Exception {
        L1Channel channel = L1Channel.open();
        Thread reader = channel.start(line -> { });
        channel.close();
        reader.join(TimeUnit.SECONDS.toMillis(30));
        assertFalse(reader.isAlive());
    }
}
