package io.aether.sync;

import java.util.ArrayList;
import java.util.List;

/**
 * Three-way line merge (the diff3 algorithm, Khanna, Kunal and Pierce, "A Formal Investigation
 * of Diff3", 2007): lines of the base matched in both sides are stable; between stable lines,
 * a region changed on one side only takes that side, a region changed identically on both sides
 * takes either, and anything else is a conflict, written with markers.
 */
final class Diff3 {

    /** The merged text and how many regions conflict. */
    record Result(String text, int conflicts) {
        boolean clean() {
            return conflicts == 0;
        }
    }

    private Diff3() {
    }

    /** Splits into lines, each keeping its terminator, so a merge reproduces the text byte for byte. */
    static List<String> lines(String s) {
        List<String> out = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\n') {
                out.add(s.substring(start, i + 1));
                start = i + 1;
            }
        }
        if (start < s.length()) {
            out.add(s.substring(start));
        }
        return out;
    }

    static Result merge(String base, String ours, String theirs, String oursLabel, String theirsLabel) {
        List<String> o = lines(base);
        List<String> a = lines(ours);
        List<String> b = lines(theirs);
        int[] ma = LineDiff.match(o, a);
        int[] mb = LineDiff.match(o, b);
        StringBuilder out = new StringBuilder();
        int conflicts = 0;
        int i = 0;
        int j = 0;
        int k = 0;
        while (true) {
            // The next base line matched on both sides at or after the cursors.
            int s = i;
            while (s < o.size() && (ma[s] < 0 || mb[s] < 0)) {
                s++;
            }
            int aEnd = s < o.size() ? ma[s] : a.size();
            int bEnd = s < o.size() ? mb[s] : b.size();
            if (s == i && aEnd == j && bEnd == k) {
                if (s == o.size()) {
                    break;
                }
                out.append(o.get(i));
                i++;
                j++;
                k++;
                continue;
            }
            List<String> oc = o.subList(i, s);
            List<String> ac = a.subList(j, aEnd);
            List<String> bc = b.subList(k, bEnd);
            if (ac.equals(oc)) {
                bc.forEach(out::append);
            } else if (bc.equals(oc) || ac.equals(bc)) {
                ac.forEach(out::append);
            } else {
                conflicts++;
                marker(out, "<<<<<<< " + oursLabel);
                ac.forEach(out::append);
                marker(out, "||||||| base");
                oc.forEach(out::append);
                marker(out, "=======");
                bc.forEach(out::append);
                marker(out, ">>>>>>> " + theirsLabel);
            }
            i = s;
            j = aEnd;
            k = bEnd;
        }
        return new Result(out.toString(), conflicts);
    }

    private static void marker(StringBuilder out, String line) {
        if (!out.isEmpty() && out.charAt(out.length() - 1) != '\n') {
            out.append('\n');
        }
        out.append(line).append('\n');
    }
}
