// A directory is a store only if it is new, empty, or carries the store's marker
// (or, made by an older version, its lock and a generation with the store's
// index): anything else is ERR_CAS_NOT_A_STORE with the tree left byte for byte
// as it was, for every opener and CLI command. Inside a store, gc removes only
// the names the store makes, and reports each one.
import { describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, ContentStore } from "../../lib/index.ts";
import { casMain } from "../../lib/cli/cas.ts";
import { tempDirectory } from "../support/temp.ts";
import { objectBytes, runToEnd, spawnStoreChild } from "./support.ts";

const root = tempDirectory("store-foreign-");
let directories = 0;
function fresh(): string {
  directories += 1;
  return join(root, `dir-${directories}`);
}

/** Every path under `directory` with its kind and bytes: equal snapshots mean an untouched tree. */
function snapshot(directory: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (path: string, relative: string): void => {
    const stat = lstatSync(path);
    if (stat.isDirectory()) {
      entries[relative || "."] = `dir ${stat.mode}`;
      for (const name of readdirSync(path).sort()) walk(join(path, name), join(relative, name));
    } else {
      entries[relative] = `file ${stat.mode} ${readFileSync(path).toString("base64")}`;
    }
  };
  walk(directory, "");
  return entries;
}

function codeOf(action: () => unknown): string | undefined {
  try {
    action();
  } catch (error) {
    return error instanceof ArenaError ? error.code : (error as Error).name;
  }
  return "no error";
}

/** The trial's web site: v1.0 .. v1.3, each with an index.html. */
function site(): string {
  const directory = fresh();
  for (let version = 0; version < 4; version++) {
    mkdirSync(join(directory, `v1.${version}`), { recursive: true });
    writeFileSync(join(directory, `v1.${version}`, "index.html"), `docs ${version}\n`);
  }
  return directory;
}

/** The trial's project: names like the store's leftovers and temporary files. */
function project(): string {
  const directory = fresh();
  mkdirSync(join(directory, "trash.keep"), { recursive: true });
  writeFileSync(join(directory, "trash.keep", "notes.txt"), "notes\n");
  writeFileSync(join(directory, "trash.txt"), "z\n");
  mkdirSync(join(directory, "tmp"));
  writeFileSync(join(directory, "tmp", "build.1.2.tmp"), "y\n");
  return directory;
}

const foreignDirectories: [string, () => string][] = [
  ["a web site with v1.0/ .. v1.3/", site],
  ["a project with trash.keep/, trash.txt and tmp/build.1.2.tmp", project],
  [
    "a directory holding only an empty lock file",
    () => {
      const directory = fresh();
      mkdirSync(directory);
      writeFileSync(join(directory, "lock"), "");
      return directory;
    },
  ],
  [
    "a lock file and a v1.0/ without the store's index",
    () => {
      const directory = fresh();
      mkdirSync(join(directory, "v1.0"), { recursive: true });
      writeFileSync(join(directory, "lock"), "");
      writeFileSync(join(directory, "v1.0", "index.v1"), "not a trie\n");
      return directory;
    },
  ],
  [
    "a file named like the marker with other bytes",
    () => {
      const directory = fresh();
      mkdirSync(directory);
      writeFileSync(join(directory, "mfa.cas.store"), "my notes\n");
      return directory;
    },
  ],
];

describe("a directory that is not a store is refused, untouched", () => {
  for (const [what, make] of foreignDirectories) {
    test(what, () => {
      const directory = make();
      const before = snapshot(directory);
      expect(codeOf(() => ContentStore.open(directory).close())).toBe("ERR_CAS_NOT_A_STORE");
      expect(codeOf(() => ContentStore.openReadOnly(directory).close())).toBe("ERR_CAS_NOT_A_STORE");
      expect(codeOf(() => ContentStore.validateIfNeeded(directory))).toBe("ERR_CAS_NOT_A_STORE");
      for (const command of ["gc", "stats", "validate"]) {
        const result = casMain([command, directory]);
        expect(result.exitCode).toBe(2);
        expect(result.stderr).toContain("ERR_CAS_NOT_A_STORE");
      }
      expect(snapshot(directory)).toEqual(before);
    });
  }

  test("the error names the directory and what is in it", () => {
    const directory = site();
    try {
      ContentStore.open(directory);
      throw new Error("opened");
    } catch (error) {
      expect(error).toBeInstanceOf(ArenaError);
      expect((error as ArenaError).message).toContain(directory);
      expect((error as ArenaError).message).toContain('"v1.0"');
      expect((error as ArenaError).path).toBe(directory);
    }
  });
});

describe("what becomes a store, and what stays one", () => {
  test("a missing or empty directory becomes a store, with its marker", () => {
    const empty = fresh();
    mkdirSync(empty);
    for (const directory of [fresh(), empty]) {
      {
        using store = ContentStore.open(directory);
        store.put(objectBytes(1, 100));
      }
      expect(readFileSync(join(directory, "mfa.cas.store"), "utf8")).toBe("mapped-file-arena content store v1\n");
      using reader = ContentStore.openReadOnly(directory);
      expect(reader.stats().generations.length).toBe(1);
    }
  });

  test("an empty directory holds no store to read (ENOENT, no writer made one), and stays empty", () => {
    const directory = fresh();
    mkdirSync(directory);
    expect(codeOf(() => ContentStore.openReadOnly(directory))).toBe("ENOENT");
    expect(readdirSync(directory)).toEqual([]);
  });

  test("a store made before the marker (lock and a generation with the store's index) still opens", () => {
    const directory = fresh();
    let id: string;
    {
      using store = ContentStore.open(directory);
      id = store.put(objectBytes(2, 100));
    }
    rmSync(join(directory, "mfa.cas.store")); // as main made it
    {
      using reader = ContentStore.openReadOnly(directory);
      expect(reader.has(id)).toBe(true);
    }
    expect(existsSync(join(directory, "mfa.cas.store"))).toBe(false); // a reader writes nothing
    expect(casMain(["stats", directory]).exitCode).toBe(0);
    {
      using store = ContentStore.open(directory);
      expect(store.has(id)).toBe(true);
    }
    expect(readFileSync(join(directory, "mfa.cas.store"), "utf8")).toBe("mapped-file-arena content store v1\n");
  });

  test("a marker left half-made by a killed writer (its temporary file) does not make a directory foreign", () => {
    const directory = fresh();
    mkdirSync(directory);
    writeFileSync(join(directory, "mfa.cas.store.999999999.1.tmp"), "mapped-file");
    using store = ContentStore.open(directory);
    expect(store.gc()).toEqual(["mfa.cas.store.999999999.1.tmp"]);
  });
});

describe("a creator killed while it writes the marker", () => {
  async function openKilled(broken: string): Promise<string> {
    const directory = fresh();
    const result = await runToEnd(spawnStoreChild("store-worker.ts", ["open-killed", directory, broken]));
    expect(result.signalCode).toBe("SIGKILL");
    return directory;
  }

  test("leaves only its temporary file: the next open makes the store, and gc removes it", async () => {
    const directory = await openKilled("none");
    expect(readdirSync(directory)).toEqual([expect.stringMatching(/^mfa\.cas\.store\.\d+\.\d+\.tmp$/)]);
    using store = ContentStore.open(directory);
    expect(store.gc()).toHaveLength(1);
    expect(readdirSync(directory).some((name) => name.endsWith(".tmp"))).toBe(false);
  }, 60_000);

  test("broken variant: a marker made at its name and then filled is left empty, and the store is refused for good", async () => {
    const directory = await openKilled("markerInPlace");
    expect(readFileSync(join(directory, "mfa.cas.store"), "utf8")).toBe("");
    expect(codeOf(() => ContentStore.open(directory))).toBe("ERR_CAS_NOT_A_STORE");
  }, 60_000);
});

describe("gc inside a store removes only the store's own names, and reports each", () => {
  test("leftovers by their exact names; look-alikes and foreign files stay", () => {
    const directory = fresh();
    const id = "ab".repeat(32);
    {
      using store = ContentStore.open(directory);
      store.put(objectBytes(3, 100));
    }
    // The store's leftovers: an interrupted deletion, what recovery moved aside, dead writers' temporaries.
    mkdirSync(join(directory, "trash.v1.7.12345.1700000000000"));
    writeFileSync(join(directory, "trash.v1.7.12345.1700000000000", "data.v1"), "old");
    mkdirSync(join(directory, "corrupt.0.v1.3"));
    writeFileSync(join(directory, "corrupt.0.v1.3", `leaf.${id}`), "old");
    writeFileSync(join(directory, "v1.0", `leaf.${id}.999999999.1.tmp`), "partial");
    mkdirSync(join(directory, "tmp"));
    writeFileSync(join(directory, "tmp", "download.999999999.2.tmp"), "partial");
    // Look-alikes someone else put there.
    const keep = {
      "trash.keep/notes.txt": "notes",
      "trash.txt": "z",
      "trash.v1.8.1.2/notes.txt": "a generation's trash holds no notes",
      "corrupt.notes": "c",
      "tmp/build.1.2.tmp": "y",
      "v1.0/notes.1.2.tmp": "n",
      "notes.1.2.tmp": "n",
    };
    for (const [path, text] of Object.entries(keep)) {
      mkdirSync(join(directory, path, ".."), { recursive: true });
      writeFileSync(join(directory, path), text);
    }
    using store = ContentStore.open(directory);
    const removed = store.gc({ includeCorrupt: true });
    expect(removed.sort()).toEqual(
      ["corrupt.0.v1.3", "trash.v1.7.12345.1700000000000", join("v1.0", `leaf.${id}.999999999.1.tmp`), join("tmp", "download.999999999.2.tmp")].sort(),
    );
    for (const [path, text] of Object.entries(keep)) expect(readFileSync(join(directory, path), "utf8")).toBe(text);
  });

  test("an old generation holding a file the store does not make is kept, with a warning", async () => {
    const directory = fresh();
    {
      using store = ContentStore.open(directory);
      store.put(objectBytes(4, 100));
    }
    mkdirSync(join(directory, "v1.1"));
    mkdirSync(join(directory, "v1.2"));
    writeFileSync(join(directory, "v1.0", "notes.txt"), "mine");
    const warnings: string[] = [];
    const listener = (warning: Error) => warnings.push(warning.message);
    process.on("warning", listener);
    try {
      {
        using store = ContentStore.open(directory);
        expect(store.gc()).toEqual([]);
      }
      await Bun.sleep(0); // warnings are emitted on a later tick
    } finally {
      process.off("warning", listener);
    }
    expect(warnings.some((message) => message.includes("v1.0") && message.includes("notes.txt"))).toBe(true);
    expect(readFileSync(join(directory, "v1.0", "notes.txt"), "utf8")).toBe("mine");
    rmSync(join(directory, "v1.0", "notes.txt"));
    using store = ContentStore.open(directory);
    expect(store.gc()).toEqual(["v1.0"]);
  });
});
