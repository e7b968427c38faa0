package io.jdiffusion.tensor;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.function.Supplier;

/**
 * The scope rules of the backends that own their memory (CUDA and the shape-only backend, which
 * must behave alike so the profile's peaks are CUDA's): each thread has a stack of open scopes; a
 * storage made while one is open belongs to the innermost; {@link Backend.Scope#keep} moves a
 * tensor one scope out, or out of every scope (then the caller closes it); closing a scope closes
 * the inner ones still open and releases what it holds. A backend and its dtype views share one
 * instance.
 */
public final class DeviceScopes {
    /** A storage that can belong to a scope; it remembers which, so an early release leaves the scope at once. */
    public interface Member extends Storage {
        Object scope();

        void scope(Object scope);
    }

    private final ThreadLocal<ArrayDeque<Region>> stacks = ThreadLocal.withInitial(ArrayDeque::new);

    /** Opens a scope on the calling thread. */
    public Backend.Scope open() {
        Region r = new Region(Thread.currentThread());
        stacks.get().push(r);
        return r;
    }

    /** Runs {@code work} with no scope open on this thread: what it makes belongs to the caller. */
    public <T> T detached(Supplier<T> work) {
        ArrayDeque<Region> open = stacks.get();
        stacks.set(new ArrayDeque<>());
        try {
            return work.get();
        } finally {
            stacks.set(open);
        }
    }

    /** Gives a new storage to the calling thread's innermost open scope, if any. */
    public void track(Member s) {
        Region r = stacks.get().peek();
        if (r != null) r.track(s);
    }

    /** A storage released before its scope ends leaves it. */
    public static void untrack(Member s) {
        if (s.scope() instanceof Region r) r.members.remove(s);
        s.scope(null);
    }

    private Region parentOf(Region r) {
        boolean found = false;
        for (Region c : stacks.get()) {   // innermost first
            if (found) return c;
            if (c == r) found = true;
        }
        return null;
    }

    private final class Region implements Backend.Scope {
        final Set<Member> members = Collections.newSetFromMap(new IdentityHashMap<>());
        final Thread thread;
        boolean open = true;

        Region(Thread thread) { this.thread = thread; }

        void track(Member s) {
            members.add(s);
            s.scope(this);
        }

        @Override
        public <T> T keep(T t) {
            if (!open) throw new IllegalStateException("keep on a closed scope");
            KeptTensors.forEach(t, this::keepTensor);
            return t;
        }

        /** Moves a tensor of this scope to the enclosing one (or out of every scope). */
        private void keepTensor(Tensor t) {
            if (t.storage() instanceof Member s && s.scope() == this) {
                members.remove(s);
                s.scope(null);
                Region parent = parentOf(this);
                if (parent != null) parent.track(s);
            }
        }

        @Override
        public void close() {
            if (!open) return;
            if (Thread.currentThread() != thread) throw new IllegalStateException("a scope must be closed by the thread that opened it");
            open = false;
            ArrayDeque<Region> stack = stacks.get();
            while (!stack.isEmpty() && stack.peek() != this) stack.peek().close();
            stack.remove(this);
            for (Member s : List.copyOf(members)) {
                s.scope(null);
                s.release();
            }
            members.clear();
        }
    }
}
