package io.jdiffusion.pipelines;

import io.jdiffusion.tensor.Backend;
import io.jdiffusion.tensor.Tensor;
import io.jdiffusion.tensor.weights.Params;
import io.jdiffusion.vae.VaeConfig;
import io.jdiffusion.vae.VaeTiling;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A device-memory budget shared by the models of a run: the text encoders, UNets and VAE take
 * turns on the device. A component is loaded into a {@link Slot} on first use; before a load, the
 * least recently used other components are unloaded until the resident weights, the newcomer and
 * {@link #headroomBytes()} for activations fit the budget. A component whose size is not known yet
 * (never loaded) counts as the whole budget, so everything else leaves first; after one load its
 * size is the bytes of the device copies its weights got.
 *
 * <p>Unloading closes the component's device tensors (listed while it loaded, by
 * {@link Params#recordingUploads}) and its weight source; reloading builds it again from the host
 * weights (a mapped file stays in the page cache, a single-file checkpoint stays open). Weights
 * the backend reads in place (the CPU backend) cost no device memory, so on the CPU a budget
 * changes nothing but the bookkeeping.
 *
 * <p>VAE: decoding or encoding at H×W needs activations of about 4 × max(c0, c1) × H × W elements
 * (c = block_out_channels; the full-resolution stages dominate). When that does not fit beside the
 * VAE's weights even with everything else unloaded, the VAE tiles, with the largest latent tile
 * that fits ({@link #vaeTiling}).
 *
 * <p>Peak device memory: the backend's own peak when it keeps one ({@link Backend#memoryUse()}: the
 * CUDA caching allocator's), else the peak of resident weights.
 * A budget of 0 means unlimited: components load once and stay.
 *
 * <p>Thread-safety: all methods synchronize on the budget.
 */
public final class DeviceBudget {
    private static final Logger LOG = LoggerFactory.getLogger(DeviceBudget.class);

    /** Latent tile sides tried for a VAE under a budget, largest first. */
    static final int[] VAE_TILES = {128, 96, 64, 48, 32, 24, 16};

    /** One event of the budget's life, for logs and tests. */
    public record Event(String kind, String component, long bytes, long residentAfter) {
        @Override
        public String toString() { return kind + " " + component + " (" + mib(bytes) + "), resident " + mib(residentAfter); }
    }

    private final Backend backend;
    private final long budget;
    private final long headroom;
    /** Resident slots, least recently used first. */
    private final LinkedHashMap<Slot<?>, Boolean> resident = new LinkedHashMap<>(16, 0.75f, true);
    private final List<Event> events = new ArrayList<>();
    private long residentBytes, peakResidentBytes;

    /** Unlimited: nothing is ever unloaded. */
    public static DeviceBudget unlimited(Backend backend) { return new DeviceBudget(backend, 0, 0); }

    /** A budget of {@code bytes} with 1/8 of it kept free for activations (1 GiB of 8 GiB). */
    public static DeviceBudget of(Backend backend, long bytes) { return new DeviceBudget(backend, bytes, bytes / 8); }

    /**
     * @param budgetBytes   device bytes the components and activations may use; 0 for no limit
     * @param headroomBytes bytes kept free for activations when deciding what stays resident
     */
    public DeviceBudget(Backend backend, long budgetBytes, long headroomBytes) {
        if (budgetBytes < 0) throw new IllegalArgumentException("device memory budget must be >= 0 bytes (0: unlimited), got " + budgetBytes);
        if (headroomBytes < 0 || (budgetBytes > 0 && headroomBytes >= budgetBytes)) {
            throw new IllegalArgumentException("headroom must be >= 0 and below the budget (" + budgetBytes + "), got " + headroomBytes);
        }
        this.backend = backend;
        this.budget = budgetBytes;
        this.headroom = headroomBytes;
    }

    public Backend backend() { return backend; }

    /** The budget in bytes, 0 for unlimited. */
    public long budgetBytes() { return budget; }

    public long headroomBytes() { return headroom; }

    public boolean limited() { return budget > 0; }

    /** A component that loads on first {@link Slot#get()} and may be unloaded to make room. */
    public <T> Slot<T> slot(String name, Supplier<T> load, Consumer<T> dispose) { return new Slot<>(this, name, load, dispose); }

    /**
     * A loadable component. {@code load} builds it on the device; {@code dispose} releases what the
     * component holds besides its device weights (e.g. closes its weight source); it may be null.
     */
    public static final class Slot<T> {
        private final DeviceBudget owner;
        private final String name;
        private final Supplier<T> load;
        private final Consumer<T> dispose;
        private T value;
        private List<Tensor> deviceTensors = List.of();
        private long bytes = -1;

        private Slot(DeviceBudget owner, String name, Supplier<T> load, Consumer<T> dispose) {
            this.owner = owner;
            this.name = name;
            this.load = load;
            this.dispose = dispose;
        }

        /** The component, loading it (and unloading others as the budget needs) when not resident. */
        public T get() { return owner.acquire(this); }

        public String name() { return name; }

        /** Whether it is loaded now. */
        public boolean resident() {
            synchronized (owner) { return value != null; }
        }

        /** Device bytes of its weights at its last load, or -1 before the first. */
        public long bytes() {
            synchronized (owner) { return bytes; }
        }

        /** Unloads it if resident. */
        public void unload() {
            synchronized (owner) { owner.evict(this); }
        }
    }

    private synchronized <T> T acquire(Slot<T> s) {
        if (s.value != null) {
            resident.get(s); // access order: now the most recently used
            return s.value;
        }
        if (budget > 0) {
            long need = s.bytes >= 0 ? s.bytes : budget;
            makeRoom(need + headroom, s);
        }
        List<Object> box = new ArrayList<>(1);
        // Components load lazily, often inside a forward pass's scope; their weights must outlive it.
        List<Tensor> copies = Params.recordingUploads(() -> box.add(backend.detached(s.load)));
        @SuppressWarnings("unchecked") T v = (T) box.getFirst();
        s.value = v;
        s.deviceTensors = copies;
        long b = 0;
        for (Tensor t : copies) b += t.numel() * t.dtype().byteSize();
        s.bytes = b;
        resident.put(s, Boolean.TRUE);
        residentBytes += b;
        peakResidentBytes = Math.max(peakResidentBytes, residentBytes);
        record("load", s.name, b);
        if (budget > 0 && residentBytes + headroom > budget) {
            LOG.warn("{} alone needs {} of device memory, over the budget of {} less {} headroom", s.name, mib(b), mib(budget), mib(headroom));
        }
        return v;
    }

    /** Unloads least recently used slots other than {@code keep} until {@code bytes} more fit. */
    private void makeRoom(long bytes, Slot<?> keep) {
        for (Slot<?> victim : new ArrayList<>(resident.keySet())) {
            if (residentBytes + bytes <= budget) return;
            if (victim != keep) evict(victim);
        }
    }

    private void evict(Slot<?> s) {
        if (s.value == null) return;
        @SuppressWarnings("unchecked") Slot<Object> o = (Slot<Object>) s;
        Object v = o.value;
        o.value = null;
        for (Tensor t : o.deviceTensors) t.close();
        o.deviceTensors = List.of();
        if (o.dispose != null) o.dispose.accept(v);
        resident.remove(s);
        residentBytes -= s.bytes;
        record("unload", s.name, s.bytes);
    }

    /** Unloads every resident component. */
    public synchronized void unloadAll() {
        for (Slot<?> s : new ArrayList<>(resident.keySet())) evict(s);
    }

    /** Unloads the resident components of these slots (a model being closed). */
    synchronized void unload(List<? extends Slot<?>> slots) {
        for (Slot<?> s : slots) evict(s);
    }

    private void record(String kind, String name, long bytes) {
        Event e = new Event(kind, name, bytes, residentBytes);
        events.add(e);
        LOG.debug("device budget: {}", e);
    }

    /**
     * The tiling a VAE of {@code cfg} (resident with {@code vaeBytes} of weights) should use for
     * latents {@code lh × lw} under this budget: null when the whole image fits (after unloading
     * every other component if that is what it takes), else tiles of the largest latent side in
     * {@link #VAE_TILES} whose activations fit; the smallest when none does.
     */
    public synchronized VaeTiling vaeTiling(VaeConfig cfg, int lh, int lw, Slot<?> vae) {
        if (budget <= 0) return null;
        long vaeBytes = Math.max(vae.bytes, 0);
        // force_upcast VAEs run in F32 (DevicePrecision), whatever the other components compute in
        int bpe = cfg.forceUpcast() ? 4 : backend.computeType().byteSize();
        long whole = vaeActivationBytes(cfg, lh, lw, bpe);
        if (residentBytes + whole <= budget) return null;
        makeRoom(whole, vae);
        if (residentBytes + whole <= budget) return null;
        long free = budget - vaeBytes - outputBytes(cfg, lh, lw, bpe);
        int chosen = VAE_TILES[VAE_TILES.length - 1];
        for (int t : VAE_TILES) {
            if (t < Math.max(lh, lw) && vaeActivationBytes(cfg, t, t, bpe) <= free) {
                chosen = t;
                break;
            }
        }
        record("tile " + chosen + "x" + chosen + " latents", vae.name, whole);
        return VaeTiling.ofLatentTile(chosen, cfg.scaleFactor());
    }

    /** Activations of one VAE pass at latents lh × lw: 4 live tensors of the widest full-resolution stage. */
    static long vaeActivationBytes(VaeConfig cfg, int lh, int lw, int bytesPerElement) {
        int[] c = cfg.blockOutChannels();
        long widest = Math.max(c[0], c.length > 1 ? c[1] : c[0]);
        long pixels = (long) lh * cfg.scaleFactor() * lw * cfg.scaleFactor();
        return 4 * widest * pixels * bytesPerElement;
    }

    /** The decoded image itself (3 channels), which a tiled pass accumulates whole. */
    static long outputBytes(VaeConfig cfg, int lh, int lw, int bytesPerElement) {
        return 3L * lh * cfg.scaleFactor() * lw * cfg.scaleFactor() * bytesPerElement;
    }

    /** Bytes of weights resident now, by this budget's own count. */
    public synchronized long residentBytes() { return residentBytes; }

    /**
     * Peak device memory in use: the backend's own figure when it keeps one (live tensors of the
     * CUDA caching allocator), else the peak of resident weights.
     */
    public synchronized long peakDeviceBytes() {
        return backend.memoryUse().map(Backend.MemoryStats::peakInUse).orElse(peakResidentBytes);
    }

    /** Where {@link #peakDeviceBytes()} comes from. */
    public String peakSource() {
        return backend.memoryUse().isPresent() ? backend.name().toUpperCase(Locale.ROOT) + " allocator" : "resident weights";
    }

    /** Peak of the weights resident at once, by this budget's own count. */
    public synchronized long peakResidentBytes() { return peakResidentBytes; }

    public synchronized List<Event> events() { return List.copyOf(events); }

    /** Names of the resident components, least recently used first. */
    public synchronized List<String> residentNames() { return resident.keySet().stream().map(Slot::name).toList(); }

    /** Starts peak tracking afresh (also the backend's, where it keeps one). */
    public synchronized void resetPeak() {
        peakResidentBytes = residentBytes;
        backend.resetPeakMemory();
    }

    /** One line for users: peak, budget, loads and unloads. */
    public synchronized String summary() {
        long loads = events.stream().filter(e -> e.kind().equals("load")).count();
        long unloads = events.stream().filter(e -> e.kind().equals("unload")).count();
        Map<String, Long> tiles = new LinkedHashMap<>();
        events.stream().filter(e -> e.kind().startsWith("tile")).forEach(e -> tiles.merge(e.kind(), 1L, Long::sum));
        return String.format(Locale.ROOT, "device memory: peak %s (%s), budget %s; %d component loads, %d unloads%s",
                mib(peakDeviceBytes()), peakSource(), budget > 0 ? mib(budget) : "unlimited", loads, unloads,
                tiles.isEmpty() ? "" : ", VAE " + String.join(", ", tiles.keySet()));
    }

    static String mib(long bytes) { return String.format(Locale.ROOT, "%.1f MiB", bytes / 1048576.0); }
}
