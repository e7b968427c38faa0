package io.jdiffusion.unet;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Lifetimes;
import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.cuda.GraphedPass;
import io.jdiffusion.tensor.nn.Conv2d;
import io.jdiffusion.tensor.nn.GroupNorm;
import io.jdiffusion.tensor.nn.SharedKeyValues;
import io.jdiffusion.tensor.weights.ModelFiles;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.tensor.weights.SafetensorsWeights;
import io.jdiffusion.tensor.weights.WeightSource;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * diffusers' {@code UNet2DConditionModel} for the SDXL configs (base, refiner, inpainting), built
 * from {@code unet/config.json}: every width, depth, head count and group count comes from the
 * {@link UNet2DConditionConfig}. Module and parameter names are diffusers' own
 * ({@code down_blocks.1.attentions.0.transformer_blocks.0.attn2.to_k.weight}).
 *
 * <p>Forward (spec §3.4): sinusoidal time embedding → {@code time_embedding}; plus, for
 * addition_embed_type "text_time", {@code add_embedding([text_embeds | sinusoid(time_ids)])};
 * {@code conv_in}; the down blocks (collecting skips); the mid block; the up blocks (consuming the
 * skips from the end); {@code conv_out(SiLU(conv_norm_out(h)))}.
 *
 * <p>Weights stay where the {@link Params} put them: loaded with {@link #load} on the CPU backend,
 * they are views of the memory-mapped safetensors file (F16/BF16 read in place).
 */
public final class UNet2DConditionModel implements AutoCloseable {
    private final UNet2DConditionConfig config;
    private final Backend be;
    private final Timesteps timeProj;
    private final TimestepEmbedding timeEmbedding;
    private final Timesteps addTimeProj;
    private final TimestepEmbedding addEmbedding;
    private final Conv2d convIn, convOut;
    private final List<UNetDownBlock> downBlocks = new ArrayList<>();
    private final UNetMidBlock2DCrossAttn midBlock;
    private final List<UNetUpBlock> upBlocks = new ArrayList<>();
    private final GroupNorm convNormOut;
    private final int numUpsamplers;
    /** The cross-attention keys/values of all transformer blocks, one GEMM per width (device backends only; else null). */
    private final SharedKeyValues sharedKeyValues;
    /** The forward as a CUDA graph per input shape (CUDA backends only; eager elsewhere). */
    private final GraphedPass graphed = new GraphedPass("the UNet forward");
    private WeightSource weights;

    /**
     * Builds the module tree, asking {@code p} for every parameter. The caller calls
     * {@link Params#finish()} afterwards (as {@link #load} does).
     */
    public UNet2DConditionModel(UNet2DConditionConfig c, Params p) {
        this.config = c;
        this.be = p.backend();
        int levels = c.levels();
        int[] boc = c.blockOutChannels();
        int timeDim = c.timeEmbeddingDim();

        // before the blocks, so that their cross-attention layers register with it (Attention.of)
        sharedKeyValues = be != null && be.stacksWeights() ? p.attach(new SharedKeyValues()) : null;
        convIn = new Conv2d(p.child("conv_in"), c.inChannels(), boc[0], c.convInKernel(), 1, (c.convInKernel() - 1) / 2);
        timeProj = new Timesteps(boc[0], c.flipSinToCos(), c.freqShift());
        timeEmbedding = new TimestepEmbedding(p.child("time_embedding"), boc[0], timeDim);
        if ("text_time".equals(c.additionEmbedType())) {
            addTimeProj = new Timesteps(c.additionTimeEmbedDim(), c.flipSinToCos(), c.freqShift());
            addEmbedding = new TimestepEmbedding(p.child("add_embedding"), c.projectionClassEmbeddingsInputDim(), timeDim);
        } else {
            addTimeProj = null;
            addEmbedding = null;
        }

        Params down = p.child("down_blocks");
        int outCh = boc[0];
        for (int i = 0; i < levels; i++) {
            int inCh = outCh;
            outCh = boc[i];
            boolean last = i == levels - 1;
            Params b = down.child(i);
            downBlocks.add(switch (c.downBlockTypes().get(i)) {
                case "DownBlock2D" -> new DownBlock2D(b, c.layersPerBlock()[i], inCh, outCh, timeDim, !last,
                        c.normEps(), c.normNumGroups(), c.downsamplePadding());
                case "CrossAttnDownBlock2D" -> new CrossAttnDownBlock2D(b, c.layersPerBlock()[i], c.transformerLayersPerBlock()[i],
                        inCh, outCh, timeDim, !last, c.normEps(), c.normNumGroups(), c.crossAttentionDim()[i],
                        c.numAttentionHeads()[i], c.downsamplePadding(), c.useLinearProjection());
                default -> throw new IllegalArgumentException("down_block_types[" + i + "]: " + c.downBlockTypes().get(i));
            });
        }

        int deepest = boc[levels - 1];
        midBlock = c.midBlockType() == null ? null : new UNetMidBlock2DCrossAttn(p.child("mid_block"), 1,
                new int[] {c.transformerLayersPerBlock()[levels - 1][0]}, deepest, timeDim, c.normEps(), c.normNumGroups(),
                c.midBlockScaleFactor(), c.crossAttentionDim()[levels - 1], c.numAttentionHeads()[levels - 1], c.useLinearProjection());

        Params up = p.child("up_blocks");
        int upsamplers = 0;
        outCh = boc[levels - 1];
        for (int i = 0; i < levels; i++) {
            int rev = levels - 1 - i;
            boolean last = i == levels - 1;
            int prevOut = outCh;
            outCh = boc[rev];
            int inCh = boc[Math.max(rev - 1, 0)];
            int layers = c.layersPerBlock()[rev] + 1;
            if (!last) upsamplers++;
            Params b = up.child(i);
            upBlocks.add(switch (c.upBlockTypes().get(i)) {
                case "UpBlock2D" -> new UpBlock2D(b, layers, inCh, outCh, prevOut, timeDim, !last, c.normEps(), c.normNumGroups());
                case "CrossAttnUpBlock2D" -> new CrossAttnUpBlock2D(b, layers, c.reverseTransformerLayersPerBlock()[i], inCh, outCh,
                        prevOut, timeDim, !last, c.normEps(), c.normNumGroups(), c.crossAttentionDim()[rev],
                        c.numAttentionHeads()[rev], c.useLinearProjection());
                default -> throw new IllegalArgumentException("up_block_types[" + i + "]: " + c.upBlockTypes().get(i));
            });
        }
        numUpsamplers = upsamplers;

        convNormOut = new GroupNorm(p.child("conv_norm_out"), c.normNumGroups(), boc[0], c.normEps());
        convOut = new Conv2d(p.child("conv_out"), boc[0], c.outChannels(), c.convOutKernel(), 1, (c.convOutKernel() - 1) / 2);
        if (sharedKeyValues != null) sharedKeyValues.load();
    }

    /** Loads {@code <folder>/config.json} and the weights {@link ModelFiles} finds there, in their stored dtype. */
    public static UNet2DConditionModel load(Path folder, Backend backend) { return load(folder, backend, null); }

    /** As {@link #load(Path, Backend)}, weights converted to {@code dtype} by the backend (null: as stored). */
    public static UNet2DConditionModel load(Path folder, Backend backend, DType dtype) {
        UNet2DConditionConfig config = UNet2DConditionConfig.load(folder.resolve("config.json"));
        return load(config, ModelFiles.find(folder, ModelFiles.DIFFUSERS, null).open(), backend, dtype);
    }

    /** The weight file (or shard index) of a diffusers UNet folder, as {@link ModelFiles} finds it. */
    public static Path weightFile(Path folder) { return ModelFiles.find(folder, ModelFiles.DIFFUSERS, null).file(); }

    /**
     * Builds the model from {@code config} over {@code weights} (which the model then owns and closes);
     * throws {@link io.jdiffusion.tensor.weights.WeightException} listing every missing, mis-shaped
     * and unexpected weight.
     */
    public static UNet2DConditionModel load(UNet2DConditionConfig config, WeightSource weights, Backend backend, DType dtype) {
        try {
            Params p = Params.load("UNet2DConditionModel", weights, backend, dtype);
            UNet2DConditionModel m = new UNet2DConditionModel(config, p);
            p.finish();
            m.weights = weights;
            return m;
        } catch (RuntimeException e) {
            weights.close();
            throw e;
        }
    }

    /** One safetensors file, or the shards named by a diffusers {@code *.safetensors.index[.variant].json}. */
    public static WeightSource openWeights(Path f) {
        return f.getFileName().toString().endsWith(".json") ? SafetensorsWeights.openIndex(f) : SafetensorsWeights.open(f);
    }

    public UNet2DConditionConfig config() { return config; }

    /** Forward with one timestep for the whole batch (a scheduler's current t). */
    public Tensor forward(Tensor sample, float timestep, Tensor encoderHiddenStates, Tensor textEmbeds, Tensor timeIds) {
        return forward(sample, new float[] {timestep}, encoderHiddenStates, textEmbeds, timeIds);
    }

    /**
     * The noise prediction {@code [B, out_channels, h, w]}.
     *
     * @param sample              {@code [B, in_channels, h, w]} latents
     * @param timesteps           one timestep for the batch, or one per batch entry
     * @param encoderHiddenStates {@code [B, S, cross_attention_dim]} token context
     * @param textEmbeds          {@code [B, P]} pooled text embedding (text_time only; else may be null)
     * @param timeIds             {@code [B, k]} micro-conditioning ids, P + k·addition_time_embed_dim =
     *                            projection_class_embeddings_input_dim (text_time only; else may be null)
     */
    public Tensor forward(Tensor sample, float[] timesteps, Tensor encoderHiddenStates, Tensor textEmbeds, Tensor timeIds) {
        if (be == null) throw new IllegalStateException("this UNet was built on a shape-only parameter tree and cannot run");
        UNet2DConditionConfig c = config;
        if (sample.rank() != 4 || sample.dim(1) != c.inChannels()) {
            throw new IllegalArgumentException("sample must be [B, " + c.inChannels() + " (in_channels), h, w], got " + Arrays.toString(sample.shape()));
        }
        int batch = sample.dim(0);
        if (timesteps.length != 1 && timesteps.length != batch) {
            throw new IllegalArgumentException("timesteps must hold 1 or B = " + batch + " values, got " + timesteps.length);
        }
        if (encoderHiddenStates.rank() != 3 || encoderHiddenStates.dim(0) != batch) {
            throw new IllegalArgumentException("encoder_hidden_states must be [B = " + batch + ", S, cross_attention_dim], got "
                    + Arrays.toString(encoderHiddenStates.shape()));
        }
        for (int level = 0; level < c.levels(); level++) {
            int rev = c.levels() - 1 - level;
            boolean attends = c.downBlockTypes().get(level).startsWith("CrossAttn") || c.upBlockTypes().get(rev).startsWith("CrossAttn")
                    || (level == c.levels() - 1 && c.midBlockType() != null);
            if (attends && encoderHiddenStates.dim(2) != c.crossAttentionDim()[level]) {
                throw new IllegalArgumentException("encoder_hidden_states width " + encoderHiddenStates.dim(2)
                        + " does not match cross_attention_dim " + Arrays.toString(c.crossAttentionDim()) + " (level " + level + ")");
            }
        }
        float[] t = new float[batch];
        for (int i = 0; i < batch; i++) t[i] = timesteps.length == 1 ? timesteps[0] : timesteps[i];

        // what the host computes (the sinusoidal embeddings; time_ids read back if they are on a device)
        // comes first, so the device part reads only tensors: on CUDA it is a graph replayed per step
        Tensor timeProjection = Tensor.of(timeProj.embed(t), batch, timeProj.numChannels());
        Tensor addTimeEmbeds = addEmbedding == null ? null : addTimeEmbeds(batch, textEmbeds, timeIds);
        List<Tensor> inputs = Arrays.asList(sample, encoderHiddenStates, timeProjection, addEmbedding == null ? null : textEmbeds, addTimeEmbeds);
        return graphed.run(be, inputs, in -> deviceForward(in.get(0), in.get(1), in.get(2), in.get(3), in.get(4)));
    }

    /**
     * The CUDA graph of the forward pass ({@link GraphedPass}: on by default on CUDA, off with
     * {@code -Djdiffusion.cuda.graphs=false}); eager on other backends.
     */
    public GraphedPass cudaGraphs() { return graphed; }

    /** The forward from its inputs as tensors (host or device): no host reads, every op on {@code be}. */
    private Tensor deviceForward(Tensor sample, Tensor encoderHiddenStates, Tensor timeProjection, Tensor textEmbeds, Tensor addTimeEmbeds) {
        UNet2DConditionConfig c = config;
        try (Backend.Scope scope = be.openScope()) {
            Tensor x = be.upload(sample);
            Tensor context = be.upload(encoderHiddenStates);
            if (sharedKeyValues != null) sharedKeyValues.project(be, context);   // released with this scope
            if (c.centerInputSample()) x = be.affine(x, 2f, -1f);

            // 1. time embedding (+ text_time added embedding)
            Tensor emb = timeEmbedding.forward(be.upload(timeProjection));
            if (addEmbedding != null) emb = be.add(emb, addEmbedding.forward(be.concat(1, be.upload(textEmbeds), be.upload(addTimeEmbeds))));
            if ("silu".equals(c.timeEmbeddingActFn())) emb = be.silu(emb);

            // every resnet applies SiLU to the time embedding first (diffusers' ResnetBlock2D): done once here
            Tensor embSilu = be.silu(emb);

            // 2. upsample to exact skip sizes when the latent side is not divisible by 2^upsamplers
            int factor = 1 << numUpsamplers;
            boolean forwardUpsampleSize = x.dim(2) % factor != 0 || x.dim(3) % factor != 0;

            // 3. encoder, collecting skips
            Tensor h = convIn.forward(x);
            List<Tensor> skips = new ArrayList<>();
            skips.add(h);
            // each block in its own scope (Lifetimes): only its output and skips outlive it
            for (UNetDownBlock down : downBlocks) {
                try (Backend.Scope s = be.openScope()) {
                    h = down.forward(h, embSilu, context, skips);
                    s.keep(skips);
                    s.keep(h);
                }
            }

            // 4. mid
            Tensor embedding = embSilu, ctx = context;
            if (midBlock != null) {
                Tensor in = h;
                h = Lifetimes.block(be, () -> midBlock.forward(in, embedding, ctx));
            }

            // 5. decoder, consuming skips from the end
            for (int i = 0; i < upBlocks.size(); i++) {
                UNetUpBlock up = upBlocks.get(i);
                boolean last = i == upBlocks.size() - 1;
                int[] size = null;
                if (!last && forwardUpsampleSize) {
                    Tensor next = skips.get(skips.size() - up.numResnets() - 1);
                    size = new int[] {next.dim(2), next.dim(3)};
                }
                Tensor in = h;
                int[] outSize = size;
                h = Lifetimes.block(be, () -> up.forward(in, skips, embedding, ctx, outSize));
            }

            // 6. out
            h = convOut.forward(convNormOut.forwardSilu(h));
            return scope.keep(h);
        } finally {
            if (sharedKeyValues != null) sharedKeyValues.clear();
        }
    }

    /**
     * {@code add_time_proj(time_ids.flatten()).reshape(B, -1)} on the host, after checking the shapes;
     * the device part makes {@code add_embedding(cat([text_embeds, this], -1))}.
     */
    private Tensor addTimeEmbeds(int batch, Tensor textEmbeds, Tensor timeIds) {
        if (textEmbeds == null || timeIds == null) {
            throw new IllegalArgumentException("addition_embed_type 'text_time' needs text_embeds and time_ids");
        }
        if (textEmbeds.rank() != 2 || textEmbeds.dim(0) != batch || timeIds.rank() != 2 || timeIds.dim(0) != batch) {
            throw new IllegalArgumentException("text_embeds must be [B = " + batch + ", P] and time_ids [B, k], got "
                    + Arrays.toString(textEmbeds.shape()) + " and " + Arrays.toString(timeIds.shape()));
        }
        int k = timeIds.dim(1), width = k * addTimeProj.numChannels();
        int expected = config.projectionClassEmbeddingsInputDim();
        if (textEmbeds.dim(1) + width != expected) {
            throw new IllegalArgumentException("text_embeds width " + textEmbeds.dim(1) + " + " + k + " time_ids × addition_time_embed_dim "
                    + addTimeProj.numChannels() + " = " + (textEmbeds.dim(1) + width)
                    + ", but projection_class_embeddings_input_dim is " + expected);
        }
        float[] timeEmbeds = addTimeProj.embed(timeIds.toFloatArray()); // [B·k, dim] row-major = [B, k·dim]
        return Tensor.of(timeEmbeds, batch, width);
    }

    /** Closes the mapped weight files (when loaded by {@link #load}); the model must not run afterwards. */
    @Override
    public void close() {
        graphed.close();
        if (weights != null) weights.close();
        weights = null;
    }
}
