// Review of lib/store (branch review-store), area: the `cas stats|validate|gc` CLI
// (lib/cli/cas.ts). Each test asserts what docs/store.md promises and fails on main at b70d492.
import { expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, symlinkSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { casMain } from "../../../lib/cli/cas.ts";
import { diskBytes } from "../../../lib/store/disk-usage.ts";
import { tempDirectory } from "../../support/temp.ts";
import { runToEnd } from "../support.ts";

const root = tempDirectory("review3-cli-");
let count = 0;
const fresh = () => join(root, `store-${count++}`);

// FINDINGS.md #2. `cas gc DIR` opens DIR with ContentStore.open, which makes a store in any directory
// (a `lock` file and v1.0/), and gc() then deletes, recursively, every entry of DIR named
// `trash.*` (collectGarbage's leftovers loop), and every file of DIR/tmp/ named like a temporary
// file (*.<n>.<n>.tmp, removeAbandonedTemporaries), without checking DIR is a store. Expected
// (as `cas stats` and `cas validate` do): a directory that holds no store is refused, exit 2,
// nothing changed. Observed: exit 0, "removed 1 tmp/notes.1.2.tmp", trash.photos/ deleted (and
// not even listed), lock and v1.0/ created.
test("cas gc on a directory that is not a store changes nothing in it (no trash.* or tmp/*.tmp deleted, no store made)", () => {
  const directory = fresh();
  mkdirSync(join(directory, "trash.photos"), { recursive: true });
  writeFileSync(join(directory, "trash.photos", "holiday.jpg"), "a photo");
  mkdirSync(join(directory, "tmp"));
  writeFileSync(join(directory, "tmp", "notes.1.2.tmp"), "a note");
  writeFileSync(join(directory, "report.txt"), "a report");
  const result = casMain(["gc", directory]);
  expect({
    exitCode: result.exitCode,
    entries: readdirSync(directory).sort(),
    photo: existsSync(join(directory, "trash.photos", "holiday.jpg")),
    note: existsSync(join(directory, "tmp", "notes.1.2.tmp")),
  }).toEqual({ exitCode: 2, entries: ["report.txt", "tmp", "trash.photos"], photo: true, note: true });
});

// FINDINGS.md #14. `cas validate DIR` promises "exit 0 valid, 1 with one line per problem" (docs/store.md,
// and cas.ts's own rule: 1 the store has problems, 2 usage or I/O), but it opens the store with
// openReadOnly outside the validation: a generation whose table fails to open (a truncated or
// garbage index, the damage validateIfNeeded counts as corrupt and recovers from) throws, and the
// catch in casMain answers exit 2, the I/O code, with no problem line (and not JSON with --json).
// Expected: exit 1 and the damage as a problem. Observed: exit 2, "mapped-file-arena:
// ERR_CAS_CORRUPT: .../v1.0/index.v1 is not a valid arena: bumpPtr ... is past the end of the file".
test("cas validate of a store whose index is truncated exits 1 (problems found), as validateIfNeeded calls it corrupt", () => {
  const directory = fresh();
  const store = ContentStore.open(directory);
  store.put(new TextEncoder().encode("an object"));
  store.close();
  truncateSync(join(directory, "v1.0", "index.v1"), 5000);
  const text = casMain(["validate", directory]);
  const json = casMain(["validate", directory, "--json"]);
  let parsed: unknown = null;
  try {
    parsed = JSON.parse(json.stdout);
  } catch {
    // not JSON
  }
  expect({ text: text.exitCode, json: json.exitCode, parsedValid: (parsed as { valid?: boolean } | null)?.valid ?? null }).toEqual({
    text: 1,
    json: 1,
    parsedValid: false,
  });
});

// FINDINGS.md #12. `cas stats` adds up disk use with diskBytes (lib/store/disk-usage.ts), which walks the
// directory with statSync: it follows symlinks. A symlink in the store's directory that points back
// into it is walked again at every level until the kernel's ELOOP (40 links): with two such links
// that is 2^40 stats. Expected (as du does, lstat): links counted as themselves, `cas stats` done in
// well under a second. Observed: still running after 20 s (killed; 10 s of CPU in a probe); with a
// single link it finishes but counts the store about 40 times, and a link to / walks the whole disk.
test("cas stats of a store directory holding two symlinks to itself finishes (disk use does not follow links)", async () => {
  const directory = fresh();
  ContentStore.open(directory).close();
  symlinkSync(".", join(directory, "a"));
  symlinkSync(".", join(directory, "b"));
  const cli = join(import.meta.dir, "..", "..", "..", "bin", "mapped-file-arena.ts");
  const child = Bun.spawn([process.execPath, cli, "cas", "stats", directory, "--json"], { stdout: "pipe", stderr: "pipe" });
  const result = await runToEnd(child, 20_000);
  expect({ exitCode: result.exitCode, signalCode: result.signalCode }).toEqual({ exitCode: 0, signalCode: null });
}, 60_000);

// After the fix (branch store-fix-files): a link counts as itself, so links back into the store or
// to a directory elsewhere add nothing but their own blocks (0 for a short link). (Not a link to
// /: were links followed again, this test, in the runner's process, would walk the whole disk.)
test("disk use of a store counts a link as itself: links to the store and to a directory outside it add nothing", () => {
  const directory = fresh();
  ContentStore.open(directory).close();
  const elsewhere = fresh();
  mkdirSync(elsewhere);
  writeFileSync(join(elsewhere, "big"), new Uint8Array(2 ** 20).fill(1));
  const before = diskBytes(directory);
  symlinkSync(".", join(directory, "self"));
  symlinkSync(elsewhere, join(directory, "elsewhere"));
  expect(diskBytes(directory)).toBe(before);
});
