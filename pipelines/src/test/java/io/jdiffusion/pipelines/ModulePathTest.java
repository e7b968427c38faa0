package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.testing.Fixtures;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.ToolProvider;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The library as a module user sees it: a small application module, compiled here against the
 * library's modules only, runs the fluent API on the tiny fixture model in a JVM of its own on the
 * module path, with native access granted to io.jdiffusion.tensor alone and denied to everything
 * else. It must produce the image this JVM produces with the same settings.
 */
class ModulePathTest {
    /** The library's modules and their third-party modules, as named on the test class path. */
    private static final List<String> MODULE_JARS = List.of("core-tensor", "text-encoders", "unet", "vae", "schedulers", "pipelines",
            "jackson-", "slf4j-api");

    @Test
    void theFluentApiRunsOnTheModulePathWithNativeAccessForTheTensorModuleOnly(@TempDir Path tmp) throws Exception {
        String modulePath = libraryModulePath();
        Path app = compileApplication(tmp, modulePath);
        Path model = Fixtures.path("sdxl-base");
        Path out = tmp.resolve("pixels.bin");

        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=io.jdiffusion.tensor", "--illegal-native-access=deny",
                "--module-path", modulePath + File.pathSeparator + app, "--module", "demo/demo.Main",
                model.toString(), out.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the module-path run finished");
        assertEquals(0, p.exitValue(), "the module-path run failed:\n" + log);
        assertFalse(log.contains("restricted method"), "no native-access warning:\n" + log);
        assertTrue(log.contains("\"pipeline\":\"txt2img\""), "the generation record was written through Jackson:\n" + log);

        byte[] expected;
        try (SdxlModel m = SdxlModel.load(model.toString(), null, Backends.get())) {
            expected = Text2ImagePipeline.of(m).prompt("a red vase").steps(2).seed(3).run().images().get(0).data();
        }
        assertArrayEquals(expected, Files.readAllBytes(out), "the module-path run gives the same image");
    }

    /** The library's modules from the test class path: jars of a packaged build, or target/classes folders. */
    private static String libraryModulePath() {
        String cp = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> mp = new ArrayList<>();
        for (String e : cp.split(File.pathSeparator)) {
            Path p = Path.of(e);
            String name = p.getFileName() == null ? "" : p.getFileName().toString();
            boolean classesDir = name.equals("classes") && Files.isRegularFile(p.resolve("module-info.class"));
            boolean jar = name.endsWith(".jar") && !name.endsWith("-tests.jar") && MODULE_JARS.stream().anyMatch(name::startsWith);
            if (classesDir || jar) mp.add(e);
        }
        assertTrue(mp.stream().anyMatch(e -> e.contains("pipelines")), "the pipelines module is on the class path: " + cp);
        return String.join(File.pathSeparator, mp);
    }

    /** A one-class application module that requires io.jdiffusion.pipelines and nothing else. */
    private static Path compileApplication(Path tmp, String modulePath) throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src.resolve("demo"));
        Files.writeString(src.resolve("module-info.java"), "module demo { requires io.jdiffusion.pipelines; }\n");
        Files.writeString(src.resolve("demo/Main.java"), """
                package demo;

                import io.jdiffusion.pipelines.GenerationResult;
                import io.jdiffusion.pipelines.Text2ImagePipeline;
                import java.nio.file.Files;
                import java.nio.file.Path;

                public class Main {
                    public static void main(String[] args) throws Exception {
                        try (Text2ImagePipeline pipe = Text2ImagePipeline.load(args[0])) {
                            GenerationResult r = pipe.prompt("a red vase").steps(2).seed(3).run();
                            Files.write(Path.of(args[1]), r.images().get(0).data());
                            System.out.println(r.record().toJson());
                        }
                    }
                }
                """);
        Path classes = tmp.resolve("app");
        int rc = ToolProvider.getSystemJavaCompiler().run(null, null, null, "-d", classes.toString(), "--module-path", modulePath,
                src.resolve("module-info.java").toString(), src.resolve("demo/Main.java").toString());
        assertEquals(0, rc, "the application module compiles against the library's exported API");
        return classes;
    }
}
