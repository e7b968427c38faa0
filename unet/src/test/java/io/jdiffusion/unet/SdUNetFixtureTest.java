package io.jdiffusion.unet;

import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.SdFixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SD 1/2 UNets (4 and 9 input channels) built from each set's config.json by the same
 * config-driven {@link UNet2DConditionModel} as SDXL's, against diffusers at every recorded timestep,
 * within 1e-4: SD 1's one head count with 1×1-conv projections, SD 2's per-level head counts with
 * use_linear_projection; no added (text_time) embedding.
 */
class SdUNetFixtureTest {
    private static final Pattern OUT = Pattern.compile("unet/([^/]+)/t([0-9.]+)/out");

    @TestFactory
    List<DynamicTest> everySdUNetCase() {
        List<DynamicTest> tests = new ArrayList<>();
        for (SdFixtures.Set set : SdFixtures.sets()) {
            List<String[]> cases = new ArrayList<>();
            for (String name : new java.util.TreeSet<>(set.tensors().names())) {
                Matcher m = OUT.matcher(name);
                if (m.matches()) cases.add(new String[] {m.group(1), m.group(2)});
            }
            assertFalse(cases.isEmpty(), "no unet/<name>/t<T>/out tensors in " + set.root());
            tests.add(DynamicTest.dynamicTest(set + " unets", () -> check(set, cases)));
        }
        return tests;
    }

    private static void check(SdFixtures.Set set, List<String[]> cases) {
        java.util.Map<String, UNet2DConditionModel> models = new java.util.HashMap<>();
        try {
            for (String[] c : cases) {
                String name = c[0], t = c[1], in = "unet/" + name + "/";
                UNet2DConditionModel model = models.computeIfAbsent(name, n -> UNet2DConditionModel.load(
                        set.path(set.reference().get("unet_folders").get(n).asText()), Fixtures.backend()));
                assertEquals(null, model.config().additionEmbedType(), "SD UNets have no added embedding");
                Tensor out = model.forward(set.tensor(in + "sample"), Float.parseFloat(t), set.tensor(in + "encoder_hidden_states"), null, null);
                TensorAssert.Diff d = TensorAssert.assertClose(set + " unet/" + name + " t=" + t, set.tensor(in + "t" + t + "/out"), out,
                        Fixtures.tolerance(1e-4));
                System.out.println(set + " unet/" + name + " t=" + t + ": " + d);
            }
            assertTrue(models.containsKey("inpaint") && models.get("inpaint").config().inChannels() == 9, set + ": a 9-channel case");
        } finally {
            models.values().forEach(UNet2DConditionModel::close);
        }
    }
}
