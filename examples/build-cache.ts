/**
 * A build-step cache on ContentStore, the way Bazel, Turborepo or ccache use one:
 *
 *   1. hash the step's inputs (the command, and the id of every input file) into an action key;
 *   2. look the action up: a hit names a manifest, a leaf object listing each output's name and id;
 *   3. on a miss, run the step, store each output (its id is the SHA-256 of its
 *      bytes), store the manifest, and record action key -> manifest.
 *
 * The manifest is plain bytes stored without refs (a leaf), not an object whose
 * refs are the outputs: a leaf's id is the SHA-256 of its bytes, so it travels to
 * a remote cache, and so does an action entry naming it. An entry naming an
 * object with refs would stay on this machine (docs/remote.md, "What travels").
 *
 * Run it twice with the same cache: the first run builds, the second restores
 * every output from the cache without running the step. With --remote, a run on
 * another machine (another --cache) with the same sources hits too.
 *
 *   bun examples/build-cache.ts --cache /tmp/build-cache
 *   bun examples/build-cache.ts --cache /tmp/build-cache     # "hit"
 *   bun examples/build-cache.ts --cache /tmp/other --remote http://127.0.0.1:8080/cache
 *
 * The "build step" is a stand-in compiler: it turns each source file into an
 * output with a header and its lines reversed, slowly enough to notice. Without
 * --sources it compiles five generated files, made in a temporary folder that it
 * removes; it leaves nothing beside the cache.
 */
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ContentStore, type StoredObject } from "../lib/index.ts";

const { values } = parseArgs({
  options: {
    cache: { type: "string" },
    sources: { type: "string" },
    out: { type: "string" },
    remote: { type: "string" },
  },
});
const cacheDirectory = values.cache ?? mkdtempSync(join(tmpdir(), "build-cache-"));
const outputDirectory = values.out ?? mkdtempSync(join(tmpdir(), "build-out-"));
const command = "reverse-compile --header v1";

/** The manifest: each output's name and the id of its bytes, as JSON, stored as a leaf. */
type Manifest = [name: string, id: string][];

await using store = ContentStore.open(cacheDirectory, {
  maxBytes: 64 * 2 ** 20,
  ...(values.remote === undefined ? {} : { remote: { url: values.remote } }),
});
const sourceDirectory = values.sources ?? makeSources();
let outcome: string;
try {
  outcome = await build(readSources(sourceDirectory));
} finally {
  if (values.sources === undefined) rmSync(sourceDirectory, { recursive: true, force: true });
}
console.log(`build-cache: ${outcome} (cache ${cacheDirectory}, outputs in ${outputDirectory})`);
if (store.remote !== null) {
  await store.flush(); // the uploads this run queued: another machine can hit once they are there
  const stats = store.remoteStats()!;
  console.log(`build-cache: remote: ${stats.uploaded} uploaded, ${stats.uploadsSkipped} not uploaded, ${stats.uploadsFailed} failed, ${stats.hits} fetched`);
}

async function build(sources: { name: string; bytes: Uint8Array }[]): Promise<string> {
  // 1. The action key: the command and every input's id, in a fixed order.
  const inputs = sources.map(({ name, bytes }) => [name, store.put(bytes)]);
  const actionKey = JSON.stringify({ command, inputs });
  const started = performance.now();
  const took = () => `in ${(performance.now() - started).toFixed(1)} ms`;
  // 2. Look it up: here, then (with a remote) on the remote, which fetches the manifest too.
  const local = store.actions.get(actionKey);
  const manifestId = local ?? (store.remote === null ? null : await store.remote.getAction(actionKey));
  const manifestObject = manifestId === null ? null : await fetchObject(manifestId);
  if (manifestObject !== null) {
    const manifest = JSON.parse(new TextDecoder().decode(manifestObject.data)) as Manifest;
    const outputs = await Promise.all(manifest.map(([, id]) => fetchObject(id)));
    if (outputs.every((output) => output !== null)) {
      manifest.forEach(([name], index) => writeFileSync(join(outputDirectory, name), outputs[index]!.data));
      return `hit: restored ${manifest.length} outputs from the ${local === null ? "remote " : ""}cache ${took()}`;
    }
  }
  // A miss; or the manifest or an output is gone (evicted here, on no remote): build again.
  // 3. Run the step, store its outputs and the manifest over them, record the action.
  const manifest: Manifest = [];
  for (const { name, bytes } of sources) {
    const output = new TextEncoder().encode(compile(new TextDecoder().decode(bytes)));
    const outputName = name.replace(/\.src$/, ".out");
    writeFileSync(join(outputDirectory, outputName), output);
    manifest.push([outputName, store.put(output)]);
  }
  store.actions.put(actionKey, store.put(new TextEncoder().encode(JSON.stringify(manifest))));
  return `miss: built ${manifest.length} outputs and cached them ${took()}`;
}

/** The object, from this store or (with a remote) fetched from the remote and checked against its id. */
async function fetchObject(id: string): Promise<StoredObject | null> {
  return store.remote === null ? store.get(id) : await store.remote.get(id);
}

function readSources(directory: string): { name: string; bytes: Uint8Array }[] {
  const names = readdirSync(directory).filter((name) => name.endsWith(".src")).sort();
  return names.map((name) => ({ name, bytes: readFileSync(join(directory, name)) }));
}

function compile(source: string): string {
  Bun.sleepSync(20); // a compiler takes a while; the cache hit does not
  return `// compiled by ${command}\n${source.split("\n").reverse().join("\n")}`;
}

/** Five generated sources, the same on every run (so a second run hits), in a temporary folder. */
function makeSources(): string {
  const directory = mkdtempSync(join(tmpdir(), "build-cache-sources-"));
  for (let index = 0; index < 5; index++) {
    writeFileSync(join(directory, `module${index}.src`), `module ${index}\nline a\nline b\n`);
  }
  return directory;
}
