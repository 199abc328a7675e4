/**
 * A build-step cache on ContentStore, the way Bazel, Turborepo or ccache use one:
 *
 *   1. hash the step's inputs (the command, and the id of every input file) into an action key;
 *   2. look the action up: a hit names a manifest object whose refs are the outputs;
 *   3. on a miss, run the step, store each output (its id is the SHA-256 of its
 *      bytes), store a manifest over them, and record action key -> manifest.
 *
 * Run it twice with the same cache: the first run builds, the second restores
 * every output from the cache without running the step.
 *
 *   bun examples/build-cache.ts --cache /tmp/build-cache
 *   bun examples/build-cache.ts --cache /tmp/build-cache     # "hit"
 *
 * The "build step" is a stand-in compiler: it turns each source file into an
 * output with a header and its lines reversed, slowly enough to notice.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { ContentStore } from "../lib/index.ts";

const { values } = parseArgs({
  options: {
    cache: { type: "string" },
    sources: { type: "string" },
    out: { type: "string" },
  },
});
const cacheDirectory = values.cache ?? mkdtempSync(join(tmpdir(), "build-cache-"));
const sourceDirectory = values.sources ?? makeSources(join(cacheDirectory, "..", `${basename(cacheDirectory)}-sources`));
const outputDirectory = values.out ?? mkdtempSync(join(tmpdir(), "build-out-"));
const command = "reverse-compile --header v1";

using store = ContentStore.open(cacheDirectory, { maxBytes: 64 * 2 ** 20 });

// 1. The action key: the command and every input's id, in a fixed order.
const sources = readdirSync(sourceDirectory).filter((name) => name.endsWith(".src")).sort();
const inputIds = sources.map((name) => store.put(readFileSync(join(sourceDirectory, name))));
const actionKey = JSON.stringify({ command, inputs: sources.map((name, index) => [name, inputIds[index]]) });

// 2. Look it up.
const started = performance.now();
const cached = store.actions.get(actionKey);
let outcome: string;
if (cached !== null) {
  const manifest = store.get(cached);
  if (manifest === null) throw new Error(`the action cache names ${cached}, which is not in the store`);
  const names = JSON.parse(new TextDecoder().decode(manifest.data)) as string[];
  names.forEach((name, index) => writeFileSync(join(outputDirectory, name), store.get(manifest.refs[index]!)!.data));
  outcome = `hit: restored ${names.length} outputs from the cache`;
} else {
  // 3. Run the step, store its outputs and a manifest over them, record the action.
  const names: string[] = [];
  const outputIds: string[] = [];
  for (const name of sources) {
    const output = compile(readFileSync(join(sourceDirectory, name), "utf8"));
    const outputName = name.replace(/\.src$/, ".out");
    writeFileSync(join(outputDirectory, outputName), output);
    names.push(outputName);
    outputIds.push(store.put(new TextEncoder().encode(output)));
  }
  const manifest = store.put(new TextEncoder().encode(JSON.stringify(names)), outputIds);
  store.actions.put(actionKey, manifest);
  outcome = `miss: built ${names.length} outputs and cached them`;
}
console.log(`build-cache: ${outcome} in ${(performance.now() - started).toFixed(1)} ms (cache ${cacheDirectory}, outputs in ${outputDirectory})`);

function compile(source: string): string {
  Bun.sleepSync(20); // a compiler takes a while; the cache hit does not
  return `// compiled by ${command}\n${source.split("\n").reverse().join("\n")}`;
}

function makeSources(directory: string): string {
  mkdirSync(directory, { recursive: true });
  for (let index = 0; index < 5; index++) {
    writeFileSync(join(directory, `module${index}.src`), `module ${index}\nline a\nline b\n`);
  }
  return directory;
}
