package io.jdiffusion.tensor.cuda;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class NativeLibraryTest {
    @Test
    void aMissingLibraryIsReportedWithEveryNameAndFolderTried() {
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> NativeLibrary.load("the test library", "libjdiffusion-none.so.1", "libjdiffusion-none.so"));
        String m = e.getMessage();
        assertTrue(m.startsWith("the test library not found"), m);
        assertTrue(m.contains("libjdiffusion-none.so.1") && m.contains("libjdiffusion-none.so"), m);
        assertTrue(m.contains("LD_LIBRARY_PATH"), m);
    }

    @Test
    void aLibraryOnTheLoaderPathLoadsAndMissingSymbolsAreNamed() {
        NativeLibrary libc = NativeLibrary.load("the C library", "libc.so.6");
        libc.fn("strlen", java.lang.foreign.FunctionDescriptor.of(java.lang.foreign.ValueLayout.JAVA_LONG,
                java.lang.foreign.ValueLayout.ADDRESS));
        CudaUnavailableException e = assertThrows(CudaUnavailableException.class,
                () -> libc.fn("cuNoSuchFunction", java.lang.foreign.FunctionDescriptor.ofVoid()));
        assertTrue(e.getMessage().contains("has no function cuNoSuchFunction"), e.getMessage());
    }
}
