package io.aether.sync;

import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A longest common subsequence of two line sequences, by Myers' O(ND) algorithm in its
 * linear-space form ("An O(ND) Difference Algorithm and Its Variations", 1986, section 4b):
 * find the middle snake of the shortest edit script, recurse on both sides.
 */
final class LineDiff {

    private final int[] a;
    private final int[] b;
    /** For each line of {@code a}, the index of its matching line in {@code b}, or -1. */
    private final int[] matchA;

    private LineDiff(int[] a, int[] b) {
        this.a = a;
        this.b = b;
        this.matchA = new int[a.length];
        Arrays.fill(matchA, -1);
    }

    /** {@code result[i]} is the line of {@code b} matched with line {@code i} of {@code a}, or -1. */
    static int[] match(List<String> a, List<String> b) {
        Map<String, Integer> ids = new HashMap<>();
        int[] ia = new int[a.size()];
        int[] ib = new int[b.size()];
        for (int i = 0; i < ia.length; i++) {
            ia[i] = ids.computeIfAbsent(a.get(i), k -> ids.size());
        }
        for (int i = 0; i < ib.length; i++) {
            ib[i] = ids.computeIfAbsent(b.get(i), k -> ids.size());
        }
        LineDiff d = new LineDiff(ia, ib);
        d.diff(0, ia.length, 0, ib.length);
        return d.matchA;
    }

    private void diff(int aLo, int aHi, int bLo, int bHi) {
        while (aLo < aHi && bLo < bHi && a[aLo] == b[bLo]) {
            matchA[aLo++] = bLo++;
        }
        while (aLo < aHi && bLo < bHi && a[aHi - 1] == b[bHi - 1]) {
            matchA[--aHi] = --bHi;
        }
        if (aLo == aHi || bLo == bHi) {
            return;
        }
        int[] snake = middleSnake(aLo, aHi, bLo, bHi);
        int x = snake[0];
        int y = snake[1];
        int u = snake[2];
        int v = snake[3];
        boolean progress = !(x == aLo && y == bLo && u == aHi && v == bHi);
        if (!progress) {
            return;
        }
        diff(aLo, x, bLo, y);
        for (int i = 0; i < u - x; i++) {
            matchA[x + i] = y + i;
        }
        diff(u, aHi, v, bHi);
    }

    /** {x, y, u, v}: the middle snake from (x, y) to (u, v) of the shortest edit script. */
    private int[] middleSnake(int aLo, int aHi, int bLo, int bHi) {
        int n = aHi - aLo;
        int m = bHi - bLo;
        int delta = n - m;
        boolean odd = (delta & 1) != 0;
        int max = (n + m + 1) / 2 + 1;
        int off = max + 1;
        int[] vf = new int[2 * off + 2];
        int[] vb = new int[2 * off + 2];
        // vf[k]: furthest x on forward diagonal k; vb[k]: furthest distance from the end on reverse diagonal k.
        for (int d = 0; d <= max; d++) {
            for (int k = -d; k <= d; k += 2) {
                int x = (k == -d || (k != d && vf[off + k - 1] < vf[off + k + 1])) ? vf[off + k + 1] : vf[off + k - 1] + 1;
                int y = x - k;
                int x0 = x;
                int y0 = y;
                while (x < n && y < m && a[aLo + x] == b[bLo + y]) {
                    x++;
                    y++;
                }
                vf[off + k] = x;
                int rk = delta - k;
                if (odd && rk >= -(d - 1) && rk <= d - 1 && vf[off + k] + vb[off + rk] >= n) {
                    return new int[] {aLo + x0, bLo + y0, aLo + x, bLo + y};
                }
            }
            for (int k = -d; k <= d; k += 2) {
                int x = (k == -d || (k != d && vb[off + k - 1] < vb[off + k + 1])) ? vb[off + k + 1] : vb[off + k - 1] + 1;
                int y = x - k;
                int x0 = x;
                int y0 = y;
                while (x < n && y < m && a[aHi - 1 - x] == b[bHi - 1 - y]) {
                    x++;
                    y++;
                }
                vb[off + k] = x;
                int fk = delta - k;
                if (!odd && fk >= -d && fk <= d && vb[off + k] + vf[off + fk] >= n) {
                    return new int[] {aHi - x, bHi - y, aHi - x0, bHi - y0};
                }
            }
        }
        // Unreachable for a correct search (D <= n + m); treat everything as changed.
        return new int[] {aLo, bLo, aHi, bHi};
    }
}
