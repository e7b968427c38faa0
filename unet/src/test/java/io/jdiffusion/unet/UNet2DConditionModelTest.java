package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertFalse;

/**
 * The whole UNet against diffusers on the fixture UNets: for every {@code unet/<name>/t<T>/out} in
 * reference.safetensors, the model of {@code sdxl-<name>/unet} run on that case's inputs at timestep
 * T must agree within 1e-4 (references are f32 CPU runs on the stored f16 weights).
 */
class UNet2DConditionModelTest {
    private static final Pattern OUT = Pattern.compile("unet/([^/]+)/t([0-9.]+)/out");
    private static final Map<String, UNet2DConditionModel> MODELS = new HashMap<>();

    static Stream<Arguments> cases() {
        TreeSet<String> names = new TreeSet<>(Fixtures.tensors().names());
        var list = names.stream().map(OUT::matcher).filter(Matcher::matches)
                .map(m -> Arguments.of(m.group(1), m.group(2))).toList();
        assertFalse(list.isEmpty(), "no unet/<name>/t<T>/out tensors in " + Fixtures.root());
        return list.stream();
    }

    static synchronized UNet2DConditionModel model(String name) {
        return MODELS.computeIfAbsent(name, n -> {
            Path folder = Fixtures.path("sdxl-" + n + "/unet");
            return UNet2DConditionModel.load(folder, Fixtures.backend());
        });
    }

    @AfterAll
    static void closeModels() {
        MODELS.values().forEach(UNet2DConditionModel::close);
        MODELS.clear();
    }

    @ParameterizedTest(name = "unet/{0} t={1}")
    @MethodSource("cases")
    void matchesDiffusers(String name, String t) {
        String in = "unet/" + name + "/";
        Tensor out = model(name).forward(Fixtures.tensor(in + "sample"), Float.parseFloat(t),
                Fixtures.tensor(in + "encoder_hidden_states"), Fixtures.tensor(in + "text_embeds"), Fixtures.tensor(in + "time_ids"));
        TensorAssert.Diff d = TensorAssert.assertClose("unet/" + name + " t=" + t, Fixtures.tensor(in + "t" + t + "/out"), out, Fixtures.tolerance(1e-4));
        System.out.println("unet/" + name + " t=" + t + ": " + d);
    }
}
