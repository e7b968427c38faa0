package io.jdiffusion.pipelines.checkpoint;

import java.util.Set;

/** Test access to the (package-private) diffusers → original key mapping, for tests in other packages. */
public final class OriginalKeyNames {
    private OriginalKeyNames() {}

    /** The original (SGM) key of a diffusers UNet key. */
    public static String unetOriginal(String diffusersKey, Set<String> keys, int unetBlockStride) {
        return OriginalKeys.toOriginal(Component.UNET, diffusersKey, keys, unetBlockStride, 0).originalKey();
    }
}
