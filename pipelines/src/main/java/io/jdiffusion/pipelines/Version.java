package io.jdiffusion.pipelines;

/** The library version written into every generation record. */
public final class Version {
    private Version() {}

    public static final String VERSION = readVersion();

    private static String readVersion() {
        String v = Version.class.getPackage().getImplementationVersion();
        return v != null ? v : "0.1.0-SNAPSHOT";
    }
}
