package io.jdiffusion.tensor.cuda;

import io.jdiffusion.tensor.DType;
import io.jdiffusion.tensor.Device;
import io.jdiffusion.tensor.Storage;

import java.lang.ref.Cleaner;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Elements in device memory of a {@link CudaBackend}. Released by {@link #release()} (tensor
 * close or scope end), or, as a last resort, when the garbage collector finds it unreachable;
 * either way the block goes back to the backend's caching allocator, not to the driver.
 */
public final class CudaStorage implements io.jdiffusion.tensor.DeviceScopes.Member {
    private static final Cleaner CLEANER = Cleaner.create();

    /** The block and its release, kept apart from the storage so the cleaner does not keep the storage alive. */
    private static final class Block implements Runnable {
        final CachingAllocator allocator;
        final long pointer;
        final AtomicBoolean released = new AtomicBoolean();

        Block(CachingAllocator allocator, long pointer) {
            this.allocator = allocator;
            this.pointer = pointer;
        }

        @Override
        public void run() {
            if (released.compareAndSet(false, true)) allocator.release(pointer);
        }
    }

    private final CudaBackend owner;
    private final DType dtype;
    private final long length;
    private final Block block;
    private final Cleaner.Cleanable cleanable;
    /** The scope that will release this storage, if any (managed by the backend's DeviceScopes on the owning thread). */
    private Object scope;

    CudaStorage(CudaBackend owner, CachingAllocator allocator, long pointer, DType dtype, long length) {
        this.owner = owner;
        this.dtype = dtype;
        this.length = length;
        this.block = new Block(allocator, pointer);
        this.cleanable = CLEANER.register(this, block);
    }

    CudaBackend owner() { return owner; }

    @Override public Object scope() { return scope; }

    @Override public void scope(Object scope) { this.scope = scope; }

    /** The device address of element 0. */
    public long pointer() {
        if (block.released.get()) throw new IllegalStateException("use of a released CUDA tensor (closed, or its scope ended)");
        return block.pointer;
    }

    public boolean isReleased() { return block.released.get(); }

    @Override public Device device() { return owner.device(); }

    @Override public DType dtype() { return dtype; }

    @Override public long length() { return length; }

    @Override
    public void readFloats(long offset, float[] dst, int dstOffset, int count) {
        if (offset < 0 || offset + count > length) {
            throw new IndexOutOfBoundsException("read of [" + offset + ", " + (offset + count) + ") from a CUDA storage of " + length);
        }
        owner.download(pointer() + offset * dtype.byteSize(), dtype, dst, dstOffset, count);
    }

    @Override
    public void release() {
        io.jdiffusion.tensor.DeviceScopes.untrack(this);
        cleanable.clean();
    }

    @Override
    public String toString() { return "CudaStorage[" + length + " x " + dtype + " on " + owner.device() + "]"; }
}
