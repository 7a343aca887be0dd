package io.aether.security;

import java.nio.charset.StandardCharsets;
import java.util.Base64;

/** RFC 7468 textual encoding: one labelled base64 block. */
final class Pem {

    private Pem() {
    }

    static byte[] encode(String label, byte[] der) {
        String body = Base64.getMimeEncoder(64, new byte[] {'\n'}).encodeToString(der);
        return ("-----BEGIN " + label + "-----\n" + body + "\n-----END " + label + "-----\n")
                .getBytes(StandardCharsets.US_ASCII);
    }

    /** The DER inside the first block labelled {@code label}; {@code what} names the source in errors. */
    static byte[] decode(String label, byte[] pem, String what) {
        String text = new String(pem, StandardCharsets.US_ASCII);
        String begin = "-----BEGIN " + label + "-----";
        String end = "-----END " + label + "-----";
        int b = text.indexOf(begin);
        int e = b < 0 ? -1 : text.indexOf(end, b + begin.length());
        if (b < 0 || e < 0) {
            throw new IllegalArgumentException(what + ": no '" + begin + "' block");
        }
        String body = text.substring(b + begin.length(), e).replaceAll("\\s", "");
        try {
            return Base64.getDecoder().decode(body);
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(what + ": bad base64 in the " + label + " block");
        }
    }
}
