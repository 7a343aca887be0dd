package io.aether.vmm;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * Connects a host byte stream to the guest's serial console: keys go in (with back-pressure from
 * the UART's bounded buffer), and on an interactive terminal {@code Ctrl-A x} stops the VM and
 * {@code Ctrl-A Ctrl-A} sends one {@code Ctrl-A}, as in QEMU.
 *
 * <p>One session serves the VMs that follow one another on the console (a guest reboot with
 * restart builds a new VM): keys go to the VM last {@link #attach attached}.
 */
public final class ConsoleSession {

    static final int CTRL_A = 0x01;

    private final boolean escapes;
    private volatile MicroVm vm;
    private boolean afterCtrlA;

    private ConsoleSession(boolean escapes) {
        this.escapes = escapes;
    }

    /**
     * Starts a daemon thread that pumps {@code in} into the attached VM until end of input.
     * End of input leaves the VM running.
     *
     * @param escapes whether Ctrl-A commands are interpreted (on a terminal in raw mode)
     */
    public static ConsoleSession start(InputStream in, boolean escapes) {
        ConsoleSession session = new ConsoleSession(escapes);
        Thread.ofPlatform().name("console-input").daemon().start(() -> session.run(in));
        return session;
    }

    /** Sends keys from now on to {@code target}. */
    public void attach(MicroVm target) {
        vm = target;
    }

    private void run(InputStream in) {
        byte[] buffer = new byte[256];
        try {
            int n;
            while ((n = in.read(buffer)) > 0) {
                byte[] keys = filter(buffer, n);
                if (keys == null) return;
                offer(keys);
            }
        } catch (IOException | InterruptedException e) {
            // The console closed or the process is going away: nothing more to pump.
        }
    }

    /** Applies the escape commands; returns the bytes for the guest, or null to stop. */
    byte[] filter(byte[] buffer, int n) {
        if (!escapes) return Arrays.copyOf(buffer, n);
        byte[] out = new byte[n];
        int o = 0;
        for (int i = 0; i < n; i++) {
            int b = buffer[i] & 0xFF;
            if (afterCtrlA) {
                afterCtrlA = false;
                if (b == 'x' || b == 'X') {
                    MicroVm target = vm;
                    if (target != null) target.requestStop(new StopReason.Requested("Ctrl-A x"));
                    return null;
                }
                if (b == CTRL_A) out[o++] = (byte) CTRL_A;
                // any other key after Ctrl-A is swallowed, as QEMU does with unknown commands
            } else if (b == CTRL_A) {
                afterCtrlA = true;
            } else {
                out[o++] = (byte) b;
            }
        }
        return Arrays.copyOf(out, o);
    }

    /** Hands keys to the attached VM, waiting while its UART is full or no VM is attached yet. */
    private void offer(byte[] keys) throws InterruptedException {
        int sent = 0;
        while (sent < keys.length) {
            MicroVm target = vm;
            if (target == null) {
                Thread.sleep(50);
                continue;
            }
            int n = target.consoleInput(Arrays.copyOfRange(keys, sent, keys.length));
            sent += n;
            if (n == 0) target.awaitConsoleSpace(100);
        }
    }

    /** How long {@link #lineFlushing} holds bytes of an unfinished line at most, and how long a quiet spell is. */
    static final long FLUSH_DELAY_MILLIS = 10;

    /**
     * An output stream for the guest's console that writes through to {@code out} and flushes at
     * each line end, or at the latest after a short delay (prompts end without a newline). The
     * first byte after a quiet spell goes through at once: a VM's first output (what a start is
     * measured by) and a prompt's first character then wait for no other thread to wake; the
     * bytes that follow it within the delay are gathered as before. Only the first byte of a
     * gathering wakes the flusher thread: woken for each byte (a futex call and a switch of
     * threads per byte, at every port exit that prints), it also sent the line piece by piece.
     */
    public static OutputStream lineFlushing(OutputStream out) {
        return new OutputStream() {
            private final byte[] buffer = new byte[8192];
            private int count;
            private long lastFlush = System.nanoTime() - TimeUnit.MILLISECONDS.toNanos(FLUSH_DELAY_MILLIS);
            private final Thread flusher = Thread.ofPlatform().name("console-flush").daemon().start(this::flushLoop);

            @Override
            public synchronized void write(int b) throws IOException {
                if (count == buffer.length) flush();
                buffer[count++] = (byte) b;
                if (b == '\n' || System.nanoTime() - lastFlush >= TimeUnit.MILLISECONDS.toNanos(FLUSH_DELAY_MILLIS)) flush();
                else if (count == 1) notifyAll();
            }

            @Override
            public synchronized void flush() throws IOException {
                if (count > 0) {
                    out.write(buffer, 0, count);
                    count = 0;
                }
                out.flush();
                lastFlush = System.nanoTime();
            }

            private synchronized void flushLoop() {
                while (true) {
                    try {
                        if (count == 0) wait();
                        wait(FLUSH_DELAY_MILLIS);
                        // A line end may have sent them meanwhile: then there is nothing to send, and no quiet spell ended.
                        if (count > 0) flush();
                    } catch (InterruptedException | IOException e) {
                        return;
                    }
                }
            }
        };
    }
}
