package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.aether.common.InterruptLine;
import io.aether.devices.PowerEvents;
import io.aether.devices.i8042.I8042;
import io.aether.devices.rng.VirtioRng;
import io.aether.devices.serial.Serial16550;
import io.aether.memory.GuestMemory;
import io.aether.memory.RegionSpec;
import io.aether.virtio.VirtioMmioTransport;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The device manager without KVM: buses, names, counters, threads, backends, console. */
@Timeout(30)
class DeviceManagerTest {

    private final GuestMemory memory = GuestMemory.anonymous(List.of(RegionSpec.ram(0, 1 << 20)));
    private final ByteArrayOutputStream console = new ByteArrayOutputStream();
    private final DeviceManager devices = new DeviceManager();
    private final List<String> events = new ArrayList<>();

    @AfterEach
    void unmap() {
        memory.close();
    }

    private static final PowerEvents NO_POWER = new PowerEvents() {
        @Override
        public void powerOff() {
        }

        @Override
        public void reset() {
        }
    };

    private Device.Uart uart() {
        return new Device.Uart("serial", new Serial16550(console, InterruptLine.NONE, 4, devices::consoleSpaceFreed));
    }

    private Device.Rng rng(String name) {
        VirtioRng model = new VirtioRng(buffer -> java.util.Arrays.fill(buffer, (byte) 7));
        return new Device.Rng(name, model, new VirtioMmioTransport(model, memory, InterruptLine.NONE));
    }

    /** A device thread that records what the manager asks of it. */
    private DeviceThread thread(String name) {
        return new DeviceThread() {
            @Override
            public void start() {
                events.add("start " + name);
            }

            @Override
            public void pause() {
                events.add("pause " + name);
            }

            @Override
            public void resume() {
                events.add("resume " + name);
            }

            @Override
            public void close() {
                events.add("close " + name);
            }
        };
    }

    @Test
    void theGuestReachesEachDeviceAtItsPlaceOnItsBus() {
        devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, uart());
        devices.attachMmio(0xD000_0000L, VirtioMmioTransport.REGION_SIZE, rng("virtio-rng0"));
        devices.claimPorts(0x80, 1, "post-code");

        devices.io().write(Serial16550.COM1_PORT, "A".getBytes(StandardCharsets.US_ASCII));
        assertEquals("A", console.toString(StandardCharsets.US_ASCII));
        byte[] magic = new byte[4];
        devices.mmio().read(0xD000_0000L, magic);
        assertArrayEquals(new byte[] {'v', 'i', 'r', 't'}, magic, "virtio-mmio MagicValue, little-endian");
        byte[] post = {(byte) 0xAA};
        devices.io().write(0x80, post);
        devices.io().read(0x80, post);
        assertEquals(0, post[0], "the post-code port reads zero");
        assertEquals(0, devices.io().unclaimedAccesses() + devices.mmio().unclaimedAccesses());
        devices.io().read(0x81, post);
        assertEquals(1, devices.io().unclaimedAccesses(), "a port next to them is nobody's");
    }

    @Test
    void everyDeviceIsListedInOrderWithItsOwnCounters() {
        devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, uart());
        devices.attachPorts(I8042.BASE_PORT, I8042.PORT_COUNT, new Device.Keyboard("i8042", new I8042(NO_POWER, InterruptLine.NONE)));
        devices.attachMmio(0xD000_0000L, VirtioMmioTransport.REGION_SIZE, rng("virtio-rng0"));
        devices.io().write(Serial16550.COM1_PORT, new byte[] {'x'});
        devices.io().write(Serial16550.COM1_PORT, new byte[] {'y'});
        devices.io().read(I8042.BASE_PORT + 7, new byte[1]); // outside the i8042's ports: nobody's
        devices.io().write(I8042.BASE_PORT + 1, new byte[] {1}); // a port it has but does not use

        List<Device> all = devices.devices();
        assertEquals(List.of("serial", "i8042", "virtio-rng0"), all.stream().map(Device::name).toList());
        var uart = assertInstanceOf(Serial16550.Counters.class, all.get(0).counters());
        assertEquals(2, uart.bytesOut());
        var i8042 = assertInstanceOf(I8042.Counters.class, all.get(1).counters());
        assertEquals(1, i8042.ignoredAccesses());
        var rng = assertInstanceOf(Device.Rng.class, all.get(2));
        assertEquals(0, rng.counters().requests());
        assertEquals(0, rng.transport().counters().notifications());
    }

    @Test
    void counterValuesNameEveryCounterOfTheModelItsTransportAndItsQueues() {
        Device.Uart uart = devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, uart());
        Device rng = devices.attachMmio(0xD000_0000L, VirtioMmioTransport.REGION_SIZE, rng("virtio-rng0"));
        devices.io().write(Serial16550.COM1_PORT, new byte[] {'x'});
        devices.mmio().read(0xD000_0000L + 1, new byte[4]); // misaligned: the transport ignores it
        assertEquals(Map.of("bytesOut", 1L, "bytesIn", 0L, "inputRefused", 0L, "inputDropped", 0L, "outputErrors", 0L,
                "badAccesses", 0L), uart.counterValues());
        Map<String, Long> values = rng.counterValues();
        assertEquals(0L, values.get("requests"));
        assertEquals(1L, values.get("transport.ignoredAccesses"));
        assertEquals(0L, values.get("queue0.fault.head_out_of_range"));
        // 3 of the model, 8 of the transport, 9 fault kinds of its one queue.
        assertEquals(3 + 8 + 9, values.size(), values.toString());
    }

    @Test
    void namesAndPlacesAreEachDevicesOwn() {
        devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, uart());
        assertEquals("a device named serial is already attached", assertThrows(IllegalArgumentException.class,
                () -> devices.attachPorts(0x2F8, 8, uart())).getMessage());
        assertEquals("a VM has one console UART; serial is already attached", assertThrows(IllegalArgumentException.class,
                () -> devices.attachPorts(0x2F8, 8, new Device.Uart("serial1", new Serial16550(console, InterruptLine.NONE)))).getMessage());
        devices.attachMmio(0xD000_0000L, VirtioMmioTransport.REGION_SIZE, rng("virtio-rng0"));
        assertThrows(IllegalArgumentException.class, () -> devices.attachMmio(0xD000_0100L, VirtioMmioTransport.REGION_SIZE, rng("virtio-rng1")));
        assertEquals(List.of("serial", "virtio-rng0"), devices.devices().stream().map(Device::name).toList(), "a refused device is not listed");
        VirtioRng other = new VirtioRng(buffer -> { });
        assertThrows(IllegalArgumentException.class, () -> new Device.Rng("virtio-rng2", other,
                new VirtioMmioTransport(new VirtioRng(buffer -> { }), memory, InterruptLine.NONE)));
    }

    @Test
    void threadsStartWithTheVmAndBackendsCloseLastAttachedFirstEvenAfterAFailure() {
        devices.addThread(thread("net0"));
        devices.addBackend(() -> events.add("close disk0"));
        devices.addBackend(() -> {
            events.add("close disk1");
            throw new java.io.IOException("flush failed");
        });
        devices.addThread(thread("net1"));
        devices.start();
        devices.close();
        assertEquals(List.of("start net0", "start net1", "close net1", "close disk1", "close disk0", "close net0"), events);
    }

    @Test
    void consoleInputGoesToTheUartWhichTakesWhatItHasRoomFor() throws Exception {
        assertEquals(0, devices.consoleInput(new byte[] {'a'}), "no UART, no input");
        Device.Uart uart = devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, uart());
        assertEquals(5, devices.consoleInput("keys!!".getBytes(StandardCharsets.US_ASCII)), "one byte in the receive register, 4 behind it");
        long start = System.nanoTime();
        devices.awaitConsoleSpace(50);
        assertEquals(true, System.nanoTime() - start >= 40_000_000L, "full: the wait lasts its time");
        Thread reader = Thread.ofPlatform().start(() -> {
            byte[] b = new byte[1];
            devices.io().read(Serial16550.COM1_PORT, b); // the guest takes a byte: room for one more
        });
        reader.join();
        start = System.nanoTime();
        devices.awaitConsoleSpace(10_000);
        assertEquals(true, System.nanoTime() - start < 5_000_000_000L, "room: no waiting");
        assertEquals(1, devices.consoleInput("!".getBytes(StandardCharsets.US_ASCII)));
        assertEquals(1, uart.counters().bytesIn());
        assertEquals(1, uart.counters().inputRefused());
    }

    @Test
    void pausedTheDeviceThreadsHoldStillAndConsoleInputWaitsUntilResume() throws Exception {
        Device.Uart uart = devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, uart());
        devices.addThread(thread("net0"));
        devices.addThread(thread("net1"));
        devices.start();
        devices.pause();
        assertEquals(List.of("start net0", "start net1", "pause net0", "pause net1"), events);
        assertEquals(0, devices.consoleInput(new byte[] {'a'}), "no input while paused");
        assertEquals(0, uart.counters().inputRefused(), "held back before the UART, not refused by it");
        assertEquals("the devices are already paused", assertThrows(IllegalStateException.class, devices::pause).getMessage());

        var woken = new java.util.concurrent.CountDownLatch(1);
        Thread waiter = Thread.ofPlatform().daemon().start(() -> {
            try {
                devices.awaitConsoleSpace(20_000);
                woken.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertEquals(false, woken.await(200, java.util.concurrent.TimeUnit.MILLISECONDS), "a paused console has no room");
        devices.resume();
        assertEquals(true, woken.await(10, java.util.concurrent.TimeUnit.SECONDS), "resuming wakes whoever waits to type");
        waiter.join();
        assertEquals(List.of("start net0", "start net1", "pause net0", "pause net1", "resume net0", "resume net1"), events);
        assertEquals(1, devices.consoleInput(new byte[] {'a'}));
        assertEquals("the devices are not paused", assertThrows(IllegalStateException.class, devices::resume).getMessage());
    }

    @Test
    void waitingForConsoleRoomNeverHoldsWhatTheUartSignalsRoomWith() throws Exception {
        // The UART signals room under its own lock (on a vCPU thread, reading the guest's byte); a
        // console pump that asked the UART for room while holding the signal's lock would deadlock
        // against it. Here the test holds the UART's lock, as the vCPU thread would.
        Device.Uart uart = devices.attachPorts(Serial16550.COM1_PORT, Serial16550.PORT_COUNT, uart());
        Thread pump;
        var signalled = new java.util.concurrent.CountDownLatch(1);
        synchronized (uart.model()) {
            pump = Thread.ofPlatform().daemon().start(() -> {
                try {
                    devices.awaitConsoleSpace(1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (pump.getState() != Thread.State.BLOCKED && System.nanoTime() < deadline) Thread.sleep(1);
            assertEquals(Thread.State.BLOCKED, pump.getState(), "the pump asks the UART for room");
            Thread.ofPlatform().daemon().start(() -> {
                devices.consoleSpaceFreed();
                signalled.countDown();
            });
            assertEquals(true, signalled.await(5, java.util.concurrent.TimeUnit.SECONDS), "signalling room deadlocked");
        }
        pump.join(5_000);
    }

    /** Starts {@code build} as the VM's late build, its failure told to {@code failed}. */
    private void buildLate(Runnable build, java.util.function.Consumer<String> failed) {
        devices.buildLate("test-build", new DeviceManager.LateBuild() {
            @Override
            public void build() {
                build.run();
            }

            @Override
            public void failed(String reason) {
                failed.accept(reason);
            }
        });
    }

    /** Starts a platform thread that reads the virtio-mmio MagicValue at {@code base} into {@code into}. */
    private Thread readMagic(long base, byte[] into) {
        return Thread.ofPlatform().daemon().start(() -> devices.mmio().read(base, into));
    }

    private static void awaitWaiting(Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (thread.getState() != Thread.State.WAITING && System.nanoTime() < deadline) Thread.sleep(1);
        assertEquals(Thread.State.WAITING, thread.getState(), "the access waits for the device");
    }

    @Test
    void anAccessToADeviceStillBeingBuiltWaitsForItThenGetsTheDevicesAnswer() throws Exception {
        LateDevice place = devices.reserveMmio(0xD000_0000L, VirtioMmioTransport.REGION_SIZE, "virtio-mmio0");
        var mayBuild = new java.util.concurrent.CountDownLatch(1);
        List<String> failures = new java.util.concurrent.CopyOnWriteArrayList<>();
        buildLate(() -> {
            try {
                mayBuild.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            devices.attachReserved(place, rng("virtio-rng0"));
        }, failures::add);
        byte[] magic = new byte[4];
        Thread vcpu = readMagic(0xD000_0000L, magic);
        awaitWaiting(vcpu);
        mayBuild.countDown();
        vcpu.join(10_000);
        assertArrayEquals(new byte[] {'v', 'i', 'r', 't'}, magic, "the device's own MagicValue, not an empty bus's");
        assertEquals(List.of("virtio-rng0"), devices.devices().stream().map(Device::name).toList());
        assertEquals(List.of(), failures);
        assertEquals(0, devices.mmio().unclaimedAccesses());
    }

    @Test
    void aDeviceThatFailsToBuildTellsItsReasonAndItsPlaceIsNobodys() throws Exception {
        devices.attachMmio(0xC000_0000L, VirtioMmioTransport.REGION_SIZE, rng("virtio-rng9"));
        devices.reserveMmio(0xD000_0000L, VirtioMmioTransport.REGION_SIZE, "virtio-mmio0");
        var failed = new java.util.concurrent.CompletableFuture<String>();
        buildLate(() -> {
            devices.addBackend(() -> events.add("close disk0"));
            throw new VmCreationException("disks[1].path: /nowhere/disk.img: no such file", null);
        }, failed::complete);
        assertEquals("disks[1].path: /nowhere/disk.img: no such file", failed.get(10, java.util.concurrent.TimeUnit.SECONDS));
        byte[] magic = new byte[4];
        readMagic(0xD000_0000L, magic).join(10_000);
        assertArrayEquals(new byte[] {-1, -1, -1, -1}, magic, "no device: all ones, as on an empty bus");
        assertEquals(List.of("virtio-rng9"), devices.devices().stream().map(Device::name).toList());
        devices.close();
        assertEquals(List.of("close disk0"), events, "what the failed build opened closes with the VM");
    }

    @Test
    void aThreadALateBuildAddsStartsAtOnceAndHoldsStillWhileTheVmIsPaused() throws Exception {
        devices.addThread(thread("net0"));
        devices.start();
        devices.pause();
        buildLate(() -> devices.addThread(thread("net1")), reason -> events.add("failed " + reason));
        assertEquals(List.of(), devices.devices(), "no device: this build added only a thread (and devices() waited for it)");
        devices.resume();
        assertEquals(List.of("start net0", "pause net0", "start net1", "pause net1", "resume net0", "resume net1"), events);
    }

    @Test
    void aStoppingVmsAccessWaitsForNoBuildAndItsCloseWaitsForTheBuildToCloseWhatItMade() throws Exception {
        LateDevice place = devices.reserveMmio(0xD000_0000L, VirtioMmioTransport.REGION_SIZE, "virtio-mmio0");
        var mayBuild = new java.util.concurrent.CountDownLatch(1);
        var failed = new java.util.concurrent.CompletableFuture<String>();
        buildLate(() -> {
            try {
                mayBuild.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            devices.addBackend(() -> events.add("close disk0"));
            devices.attachReserved(place, rng("virtio-rng0"));
        }, failed::complete);
        byte[] magic = new byte[4];
        Thread vcpu = readMagic(0xD000_0000L, magic);
        awaitWaiting(vcpu);
        devices.abandonReserved(); // what the VM's stop does
        vcpu.join(10_000);
        assertArrayEquals(new byte[] {-1, -1, -1, -1}, magic, "a stopping VM's access waits for no build");
        Thread closing = Thread.ofPlatform().daemon().start(devices::close);
        Thread.sleep(100);
        assertEquals(true, closing.isAlive(), "close waits for the build");
        mayBuild.countDown();
        closing.join(10_000);
        assertEquals(false, closing.isAlive());
        assertEquals(List.of("close disk0"), events);
    }
}
