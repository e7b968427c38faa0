package io.jdiffusion.tensor.cuda;

/**
 * The register fragments of {@code mma.sync.aligned.m16n8k16} (16-bit A and B, F32 C/D) as the PTX
 * ISA documents them ("Matrix Fragments for mma.m16n8k16 with floating point type"), written
 * independently of the kernels and of the emulator. With g = lane / 4 and t = lane % 4:
 * A (16×16, row-major) element a<sub>i</sub> (i &lt; 8) is at row g + 8·((i / 2) % 2), column
 * 2t + i % 2 + 8·(i / 4); B (16×8, column-major) element b<sub>i</sub> (i &lt; 4) at row
 * 2t + i % 2 + 8·(i / 2), column g; C/D (16×8) element c<sub>i</sub> (i &lt; 4) at row
 * g + 8·(i / 2), column 2t + i % 2.
 */
final class MmaLayout {
    static final int M = 16, N = 8, K = 16, LANES = 32;

    private MmaLayout() {}

    static int aRow(int lane, int i) { return lane / 4 + 8 * ((i / 2) % 2); }
    static int aCol(int lane, int i) { return 2 * (lane % 4) + i % 2 + 8 * (i / 4); }
    static int bRow(int lane, int i) { return 2 * (lane % 4) + i % 2 + 8 * (i / 2); }
    static int bCol(int lane, int i) { return lane / 4; }
    static int cRow(int lane, int i) { return lane / 4 + 8 * (i / 2); }
    static int cCol(int lane, int i) { return 2 * (lane % 4) + i % 2; }

    /** Lane l's eight A elements at [8l .. 8l+7], from a row-major 16×16 matrix of raw 16-bit values. */
    static short[] fragmentsOfA(short[] a) {
        short[] f = new short[LANES * 8];
        for (int l = 0; l < LANES; l++) for (int i = 0; i < 8; i++) f[8 * l + i] = a[aRow(l, i) * K + aCol(l, i)];
        return f;
    }

    /** Lane l's four B elements at [4l .. 4l+3], from a row-major 16×8 matrix of raw 16-bit values. */
    static short[] fragmentsOfB(short[] b) {
        short[] f = new short[LANES * 4];
        for (int l = 0; l < LANES; l++) for (int i = 0; i < 4; i++) f[4 * l + i] = b[bRow(l, i) * N + bCol(l, i)];
        return f;
    }

    /** The row-major 16×8 D matrix from lane l's four elements at [4l .. 4l+3]. */
    static float[] matrixOfD(float[] frag) {
        float[] d = new float[M * N];
        for (int l = 0; l < LANES; l++) for (int i = 0; i < 4; i++) d[cRow(l, i) * N + cCol(l, i)] = frag[4 * l + i];
        return d;
    }
}
