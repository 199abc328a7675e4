/**
 * The trie layer's broken variants, for tests only (testing.ts switches them
 * on): each undoes one fix, so that the test guarding it can be shown failing
 * (a test that cannot fail proves nothing). Read on slow paths only (an open, a
 * view made for a caller, a subtrie entered by the walk, an initializer's
 * result), never by find.
 *
 *  - "path-per-frame": the walk keeps a copy of the path in every frame, as it
 *    once did: memory quadratic in the trie's depth (finding F1: an OOM kill).
 *  - "views-over-the-mapping": a read-only opener hands out views of the
 *    library's own mapping, whose buffer is the capacity: structuredClone of one
 *    reads past the end of the file (F2: SIGBUS), and a caller's write freezes
 *    that page for the library's reads (F4).
 *  - "bump-pointer-past-views": a layout takes the bump pointer at open without
 *    adopting views that cover it (F3: a reader racing a writer's growth reads
 *    past its views).
 *  - "async-initializers": insert's initializer and initializeUserHeader may
 *    return a promise (F10: the record is published before its data, and a
 *    rejection after the first await ends the process).
 */
export type BrokenTrieVariant = "path-per-frame" | "views-over-the-mapping" | "bump-pointer-past-views" | "async-initializers" | null;

export const brokenTrieVariants: readonly BrokenTrieVariant[] = ["path-per-frame", "views-over-the-mapping", "bump-pointer-past-views", "async-initializers", null];

export const trieVariant: { broken: BrokenTrieVariant } = { broken: null };
