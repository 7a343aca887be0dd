package io.aether.vmm;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(10)
class MachineCmdlineTest {

    @Test
    void theMachinesParametersFollowTheUsersOwn() {
        assertEquals("console=ttyS0 panic=-1 pci=off 8250.nr_uarts=1", MachineCmdline.x86("console=ttyS0 panic=-1"));
        assertEquals("pci=off 8250.nr_uarts=1", MachineCmdline.x86(""));
        assertEquals("quiet pci=off 8250.nr_uarts=1", MachineCmdline.x86("quiet   "));
    }

    @Test
    void aParameterTheUserSetsIsLeftAsTheUserSetIt() {
        assertEquals("pci=noacpi console=ttyS0 8250.nr_uarts=1", MachineCmdline.x86("pci=noacpi console=ttyS0"));
        assertEquals("8250.nr_uarts=4 pci=off", MachineCmdline.x86("8250.nr_uarts=4"));
        assertEquals("8250.nr_uarts=2 pci=conf1", MachineCmdline.x86("8250.nr_uarts=2 pci=conf1"));
        // A word that only begins like a parameter is another one.
        assertEquals("pcie_aspm=off pci=off 8250.nr_uarts=1", MachineCmdline.x86("pcie_aspm=off"));
    }

    @Test
    void whatFollowsADoubleDashStaysInitsAndLast() {
        assertEquals("quiet pci=off 8250.nr_uarts=1 -- pci=off init-arg",
                MachineCmdline.x86("quiet -- pci=off init-arg"));
        assertEquals("pci=off 8250.nr_uarts=1 -- single", MachineCmdline.x86("-- single"));
    }
}
