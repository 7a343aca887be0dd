package io.aether.sync;

/** The four kinds of stored object; the first byte of every encoding. */
enum ObjectKind {
    CHUNK(1), FILE(2), TREE(3), COMMIT(4);

    final int tag;

    ObjectKind(int tag) {
        this.tag = tag;
    }

    static ObjectKind ofTag(int tag) {
        return switch (tag) {
            case 1 -> CHUNK;
            case 2 -> FILE;
            case 3 -> TREE;
            case 4 -> COMMIT;
            default -> null;
        };
    }

    String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
