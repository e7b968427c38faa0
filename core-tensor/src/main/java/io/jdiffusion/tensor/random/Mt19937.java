package io.jdiffusion.tensor.random;

/**
 * The 32-bit Mersenne Twister exactly as PyTorch's CPU generator runs it ({@code at::mt19937},
 * identical to {@code std::mt19937}): seeded with the low 32 bits of the seed, one full twist of
 * the 624 words before the first draw, standard tempering. Not thread-safe.
 */
final class Mt19937 {
    private static final int N = 624;
    private static final int M = 397;
    private static final int MATRIX_A = 0x9908B0DF;
    private static final int UPPER = 0x80000000;
    private static final int LOWER = 0x7FFFFFFF;

    private final int[] state = new int[N];
    /** Index of the next word to temper; N means "twist before the next draw". */
    private int next;

    Mt19937(long seed) { seed(seed); }

    void seed(long seed) {
        state[0] = (int) seed; // torch keeps seed & 0xFFFFFFFF
        for (int j = 1; j < N; j++) {
            int prev = state[j - 1];
            state[j] = 1812433253 * (prev ^ (prev >>> 30)) + j; // mod 2^32 by int overflow
        }
        next = N;
    }

    /** The next tempered 32-bit word, as an unsigned value in an int. */
    int nextInt() {
        if (next >= N) twist();
        int y = state[next++];
        y ^= y >>> 11;
        y ^= (y << 7) & 0x9D2C5680;
        y ^= (y << 15) & 0xEFC60000;
        y ^= y >>> 18;
        return y;
    }

    /** torch's {@code random64()}: two words, the first one in the high half. */
    long nextLong() {
        long hi = nextInt() & 0xFFFFFFFFL;
        long lo = nextInt() & 0xFFFFFFFFL;
        return (hi << 32) | lo;
    }

    private void twist() {
        for (int i = 0; i < N; i++) {
            int y = (state[i] & UPPER) | (state[(i + 1) % N] & LOWER);
            state[i] = state[(i + M) % N] ^ (y >>> 1) ^ ((y & 1) != 0 ? MATRIX_A : 0);
        }
        next = 0;
    }

    Mt19937 copy() {
        Mt19937 c = new Mt19937(0);
        System.arraycopy(state, 0, c.state, 0, N);
        c.next = next;
        return c;
    }
}
