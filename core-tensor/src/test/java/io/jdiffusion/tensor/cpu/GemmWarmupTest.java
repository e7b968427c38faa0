package io.jdiffusion.tensor.cpu;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;

/**
 * The warm-up's small ops are valid calls of every op it compiles: one that threw (a shape the op
 * rejects) would end the daemon thread silently, and the first step would pay for the compilation
 * again. One round runs each op once, the Winograd convolutions included.
 */
class GemmWarmupTest {
    @Test
    void everyWarmUpOpIsAValidCall() {
        assertDoesNotThrow(() -> GemmWarmup.tinyOps(1));
    }
}
