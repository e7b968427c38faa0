package io.jdiffusion.tensor.cuda;

import com.fasterxml.jackson.databind.JsonNode;
import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Backends;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cpu.CpuBackend;
import io.jdiffusion.tensor.safetensors.SafetensorsFile;
import io.jdiffusion.tensor.testing.Fixtures;
import io.jdiffusion.tensor.testing.TensorAssert;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The CUDA backend on the fixture models' real weights and inputs: every stored tensor of the
 * base pipeline's models survives an upload in its own dtype bit-exactly (the mapped-file copy
 * path), and the VAE encoder's stem (conv_in, GroupNorm+SiLU, conv1 of the first resnet) and the
 * CLIP token embedding agree with the CPU backend. Shapes and settings come from the files.
 */
@SuppressWarnings("try")   // scopes are opened for their effect on the tensors made inside
class CudaFixtureTest {
    private static final Map<DType, CudaBackend> BACKENDS = new EnumMap<>(DType.class);

    @AfterAll
    static void close() {
        BACKENDS.values().forEach(CudaBackend::close);
        BACKENDS.clear();
    }

    private static CudaBackend cuda(DType dt) {
        Backends.CudaAvailability a = Backends.cudaAvailability();
        Assumptions.assumeTrue(a.available(), "CUDA fixture test skipped: " + a.reason());
        return BACKENDS.computeIfAbsent(dt, d -> CudaBackend.create(Backends.cudaDevice(), d, 0));
    }

    private static double tolerance(DType dt) {
        return switch (dt) { case F32 -> 1e-4; case F16 -> 4e-3; case BF16 -> 3e-2; };
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void storedWeightsUploadBitExactly(DType backendType) throws IOException {
        CudaBackend b = cuda(backendType);
        int files = 0, tensors = 0;
        try (DirectoryStream<Path> models = Files.newDirectoryStream(Fixtures.path("sdxl-base"), Files::isDirectory)) {
            for (Path model : models) {
                try (DirectoryStream<Path> st = Files.newDirectoryStream(model, "*.safetensors")) {
                    for (Path p : st) {
                        files++;
                        try (SafetensorsFile f = SafetensorsFile.open(p); Backend.Scope scope = b.openScope()) {
                            for (String name : f.names()) {
                                Tensor t = f.tensor(name);
                                Tensor u = b.upload(t, t.dtype());
                                assertArrayEquals(t.toFloatArray(), u.toFloatArray(), p.getFileName() + " " + name + " (" + t.dtype() + ")");
                                tensors++;
                            }
                        }
                    }
                }
            }
        }
        assertTrue(files >= 3 && tensors > 100, files + " files, " + tensors + " tensors");
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void vaeEncoderStemMatchesTheCpu(DType dt) {
        CudaBackend b = cuda(dt);
        JsonNode cfg = Fixtures.readJson(Fixtures.path("sdxl-base/vae/config.json"));
        int groups = cfg.get("norm_num_groups").asInt();
        try (SafetensorsFile w = SafetensorsFile.open(Fixtures.path("sdxl-base/vae/diffusion_pytorch_model.safetensors"))) {
            Tensor x = Fixtures.tensor("vae/image");
            String r = "encoder.down_blocks.0.resnets.0.";
            Tensor cpu = stem(CpuBackend.INSTANCE, x, w, r, groups);
            try (Backend.Scope s = b.openScope()) {
                Tensor gpu = stem(b, x, w, r, groups);
                double scale = maxAbs(cpu.toFloatArray());
                TensorAssert.assertClose("VAE stem on cuda/" + dt, cpu, gpu, tolerance(dt) * Math.max(1, scale));
            }
        }
    }

    private static Tensor stem(Backend be, Tensor x, SafetensorsFile w, String r, int groups) {
        Tensor h = be.conv2d(x, w.tensor("encoder.conv_in.weight"), w.tensor("encoder.conv_in.bias"), 1, 1);
        h = be.groupNorm(h, groups, w.tensor(r + "norm1.weight"), w.tensor(r + "norm1.bias"), 1e-6f, true);
        return be.conv2d(h, w.tensor(r + "conv1.weight"), w.tensor(r + "conv1.bias"), 1, 1);
    }

    private static double maxAbs(float[] a) {
        double m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    @ParameterizedTest
    @EnumSource(DType.class)
    void clipTokenEmbeddingMatchesTheCpu(DType dt) {
        CudaBackend b = cuda(dt);
        float[] idf = Fixtures.tensor("te1/input_ids").toFloatArray();
        int[] ids = new int[idf.length];
        for (int i = 0; i < ids.length; i++) ids[i] = Math.round(idf[i]);
        try (SafetensorsFile w = SafetensorsFile.open(Fixtures.path("sdxl-base/text_encoder/model.safetensors"))) {
            String key = w.contains("embeddings.token_embedding.weight") ? "embeddings.token_embedding.weight"
                    : "text_model.embeddings.token_embedding.weight";
            Tensor table = w.tensor(key);
            Tensor cpu = CpuBackend.INSTANCE.embedding(table, ids);
            try (Backend.Scope s = b.openScope()) {
                Tensor gpu = b.embedding(b.upload(table, table.dtype()), ids);
                // F16 weights are exact in F16 and F32 storage; BF16 storage rounds them
                TensorAssert.assertClose("token embedding on cuda/" + dt, cpu, gpu, dt == DType.BF16 ? 1e-2 : 0);
            }
        }
    }
}
