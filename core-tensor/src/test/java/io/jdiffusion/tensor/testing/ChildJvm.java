package io.jdiffusion.tensor.testing;

import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** The command line of a child JVM that runs a main class with the test JVM's class path and settings (for tests of whole processes). */
public final class ChildJvm {
    private ChildJvm() {}

    /**
     * {@code java <the test JVM's options, without agents and -Xmx> -Xmx1g [-D fixture and log settings] -cp <class path> main args…}.
     * With {@code incubator} false the Vector API module is left out, so the JVM prints no "Using incubator modules" warning.
     */
    public static List<String> command(String mainClass, boolean incubator, List<String> args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        List<String> jvm = ManagementFactory.getRuntimeMXBean().getInputArguments();
        for (int i = 0; i < jvm.size(); i++) {
            String a = jvm.get(i);
            if (a.startsWith("-javaagent") || a.startsWith("-agentlib") || a.startsWith("-Xmx")) continue;
            if (!incubator && a.equals("--add-modules") && i + 1 < jvm.size() && jvm.get(i + 1).equals("jdk.incubator.vector")) {
                i++;
                continue;
            }
            if (!incubator && a.equals("--add-modules=jdk.incubator.vector")) continue;
            cmd.add(a);
        }
        cmd.add("-Xmx1g");
        for (String p : List.of("jdiffusion.testdata", "org.slf4j.simpleLogger.defaultLogLevel", "jdiffusion.backend")) {
            if (System.getProperty(p) != null) cmd.add("-D" + p + "=" + System.getProperty(p));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), mainClass));
        cmd.addAll(args);
        return cmd;
    }
}
