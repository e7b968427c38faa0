package io.jdiffusion.text;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Byte-level BPE with CLIP's end-of-word suffix (spec §1.4): a pre-token becomes its UTF-8 bytes
 * in the byte alphabet, "</w>" is glued to the last symbol, and adjacent pairs are fused, lowest
 * merge rank first (every non-overlapping occurrence of that pair, left to right), until no pair
 * is a merge. Works on token ids: each merge (a, b) is stored as the pair of ids with its rank and
 * the id of "ab", which the vocabulary must contain (tokenizers refuses such files too).
 * Thread-safe; results per pre-token are cached like the tokenizers' BPE cache.
 */
final class Bpe {
    static final String END_OF_WORD = "</w>";
    /** The tokenizers library's default BPE cache capacity; beyond it words are not cached. */
    static final int CACHE_CAPACITY = 10_000;

    private final int[] byteId = new int[256];
    private final int[] byteIdEndOfWord = new int[256];
    private final PairTable merges;
    private final Map<String, int[]> cache = new ConcurrentHashMap<>();

    Bpe(Map<String, Integer> vocab, List<String> mergeLines, String origin) {
        for (int b = 0; b < 256; b++) {
            String c = String.valueOf(ByteLevel.charOf(b));
            byteId[b] = require(vocab, c, origin, "byte-level character");
            byteIdEndOfWord[b] = require(vocab, c + END_OF_WORD, origin, "byte-level character with end-of-word suffix");
        }
        merges = new PairTable(Math.max(16, mergeLines.size() * 2));
        int rank = 0;
        for (String line : mergeLines) {
            int sp = line.indexOf(' ');
            if (sp <= 0 || sp == line.length() - 1 || line.indexOf(' ', sp + 1) >= 0) {
                throw new IllegalArgumentException(origin + ": merge " + (rank + 1) + " '" + line + "' is not two symbols separated by one space");
            }
            String a = line.substring(0, sp), b = line.substring(sp + 1);
            int ia = require(vocab, a, origin, "merge '" + line + "' part");
            int ib = require(vocab, b, origin, "merge '" + line + "' part");
            int merged = require(vocab, a + b, origin, "merge '" + line + "' result");
            merges.put(ia, ib, rank, merged);
            rank++;
        }
    }

    private static int require(Map<String, Integer> vocab, String token, String origin, String what) {
        Integer id = vocab.get(token);
        if (id == null) throw new IllegalArgumentException(origin + ": the vocabulary has no " + what + " '" + token + "'");
        return id;
    }

    int mergeCount() { return merges.size; }

    /** The ids of one pre-token (a regex match of normalised text). */
    int[] encodeWord(String word) {
        int[] cached = cache.get(word);
        if (cached != null) return cached;
        int[] ids = merge(word.getBytes(StandardCharsets.UTF_8));
        if (cache.size() < CACHE_CAPACITY) cache.put(word, ids);
        return ids;
    }

    private int[] merge(byte[] bytes) {
        int n = bytes.length;
        if (n == 0) return new int[0];
        int[] sym = new int[n];
        for (int i = 0; i < n - 1; i++) sym[i] = byteId[bytes[i] & 0xff];
        sym[n - 1] = byteIdEndOfWord[bytes[n - 1] & 0xff];
        while (n > 1) {
            int bestRank = Integer.MAX_VALUE, bestA = 0, bestB = 0, bestMerged = 0;
            for (int i = 0; i < n - 1; i++) {
                long slot = merges.find(sym[i], sym[i + 1]);
                if (slot >= 0) {
                    int r = merges.rank((int) slot);
                    if (r < bestRank) {
                        bestRank = r;
                        bestA = sym[i];
                        bestB = sym[i + 1];
                        bestMerged = merges.merged((int) slot);
                    }
                }
            }
            if (bestRank == Integer.MAX_VALUE) break;
            int w = 0;
            for (int i = 0; i < n; ) {
                if (i < n - 1 && sym[i] == bestA && sym[i + 1] == bestB) {
                    sym[w++] = bestMerged;
                    i += 2;
                } else {
                    sym[w++] = sym[i++];
                }
            }
            n = w;
        }
        return Arrays.copyOf(sym, n);
    }

    /** Open-addressing map from an id pair to (rank, merged id), no boxing on the hot path. */
    private static final class PairTable {
        private final long[] keys;
        private final int[] ranks;
        private final int[] mergedIds;
        private final int mask;
        int size;

        PairTable(int minCapacity) {
            int cap = Integer.highestOneBit(Math.max(2, minCapacity) - 1) << 1;
            keys = new long[cap];
            Arrays.fill(keys, -1L);
            ranks = new int[cap];
            mergedIds = new int[cap];
            mask = cap - 1;
        }

        private static long key(int a, int b) { return ((long) a << 32) | (b & 0xffffffffL); }

        private static int hash(long k) {
            long h = k * 0x9E3779B97F4A7C15L;
            return (int) (h ^ (h >>> 32));
        }

        /** A repeated merge line takes the later rank, as in tokenizers' and transformers' merge maps. */
        void put(int a, int b, int rank, int merged) {
            long k = key(a, b);
            int i = hash(k) & mask;
            while (keys[i] != -1L && keys[i] != k) i = (i + 1) & mask;
            if (keys[i] == -1L) size++;
            keys[i] = k;
            ranks[i] = rank;
            mergedIds[i] = merged;
        }

        long find(int a, int b) {
            long k = key(a, b);
            int i = hash(k) & mask;
            while (true) {
                long v = keys[i];
                if (v == k) return i;
                if (v == -1L) return -1;
                i = (i + 1) & mask;
            }
        }

        int rank(int slot) { return ranks[slot]; }

        int merged(int slot) { return mergedIds[slot]; }
    }
}
