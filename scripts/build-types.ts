/**
 * Builds the declarations the package ships (types/, `prepack` runs this), so
 * that a user's TypeScript reads the public API as .d.ts files instead of
 * type-checking the library's own sources under the user's settings.
 *
 * Why: the package's code is .ts that Bun runs as it is. Without declarations,
 * `tsc` in a user's project checks those sources with the user's options, and
 * settings the library does not use fail there: NodeNext refuses `.ts` import
 * paths, `lib: ES2022` lacks `ArrayBuffer.detached`, `erasableSyntaxOnly` refuses
 * parameter properties; and `skipLibCheck` does not skip sources. Declarations
 * carry only the API's types, which hold under any of those settings.
 *
 * tsc emits them from lib/index.ts (tsconfig.build.json), so whatever the index
 * exports is covered. Two touches make them fit every consumer:
 *  - imports in the .d.ts name `.js` files, which every moduleResolution maps to
 *    the .d.ts beside it (a `.ts` path is refused under NodeNext before TS 5.x
 *    learned otherwise, and reads oddly in a declaration);
 *  - the entry point references the `esnext.disposable` library, for `Disposable`
 *    and `Symbol.dispose` (the arena is `using`-able), which `lib: ES2022` lacks;
 *  - and declares the runtime's globals the API names (RecordLog's follow() takes
 *    an AbortSignal) as empty interfaces, for a project with neither the DOM nor
 *    Bun's or Node's types. Where those exist, an empty interface merges into
 *    theirs and changes nothing. The packaging test type-checks such a project,
 *    so an API that names another global fails it until it is listed here.
 * The `./prebuilds/*` subpath (the shim a `bun build --compile` program embeds)
 * gets a declaration of its own: importing it `with { type: "file" }` gives a path.
 */
import { readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { repositoryRoot } from "./zig.ts";

export const typesDirectory = join(repositoryRoot, "types");

const entryReferences = '/// <reference lib="esnext.disposable" />\n/// <reference path="./runtime-globals.d.ts" />\n';

/** Globals of the runtime (the DOM, Bun, Node) that the public API's types name. */
const runtimeGlobals = ["AbortSignal"];

const runtimeGlobalsDeclaration = `// The runtime's globals that mapped-file-arena's API names, for projects with neither the
// DOM nor Bun's or Node's types. Empty: where the real ones exist, these merge into them.
declare global {
${runtimeGlobals.map((name) => `  interface ${name} {}`).join("\n")}
}
export {};
`;

const prebuiltDeclaration = `/** The path of the native shim file, as \`import shim from "mapped-file-arena/prebuilds/<platform>/<file>" with { type: "file" }\` gives it. */
declare const path: string;
export default path;
`;

export function buildTypes(): void {
  rmSync(typesDirectory, { recursive: true, force: true });
  const tsc = join(repositoryRoot, "node_modules", "typescript", "bin", "tsc");
  const result = Bun.spawnSync([process.execPath, tsc, "-p", join(repositoryRoot, "tsconfig.build.json")], {
    cwd: repositoryRoot,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (!result.success) throw new Error(`building the declarations failed (tsc exit code ${result.exitCode})`);
  for (const file of readdirSync(typesDirectory, { recursive: true, encoding: "utf8" })) {
    if (!file.endsWith(".d.ts")) continue;
    const path = join(typesDirectory, file);
    const text = readFileSync(path, "utf8").replace(/(["'])(\.{1,2}\/[^"']*)\.ts\1/g, "$1$2.js$1");
    writeFileSync(path, file === "index.d.ts" ? entryReferences + text : text);
  }
  writeFileSync(join(typesDirectory, "runtime-globals.d.ts"), runtimeGlobalsDeclaration);
  writeFileSync(join(typesDirectory, "prebuilt.d.ts"), prebuiltDeclaration);
}

if (import.meta.main) buildTypes();
