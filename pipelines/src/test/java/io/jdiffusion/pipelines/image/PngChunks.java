package io.jdiffusion.pipelines.image;

import java.io.ByteArrayOutputStream;

/** For tests elsewhere that build hostile PNGs: chunks written as PngWriter writes them. */
public final class PngChunks {
    private PngChunks() {}

    /** {@code png} with one more chunk (type, body) right before its IEND chunk. */
    public static byte[] beforeIend(byte[] png, String type, byte[] body) {
        int iend = png.length - 12;
        ByteArrayOutputStream o = new ByteArrayOutputStream();
        o.write(png, 0, iend);
        o.writeBytes(PngWriter.chunk(type, body));
        o.write(png, iend, 12);
        return o.toByteArray();
    }
}
