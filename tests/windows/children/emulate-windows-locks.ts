/**
 * Preload (`bun --preload`) that puts lock-emulator.ts between the arena and its
 * native layer: lib/native/native.ts is loaded with a few lines appended that
 * rebind its exported functions to the checked ones (an exported function is a
 * live binding, so every importer calls the wrapped one). Only for the child
 * processes of lock-discipline.test.ts; nothing else loads it.
 */
import { plugin } from "bun";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const emulator = join(import.meta.dir, "..", "lock-emulator.ts").replaceAll("\\", "/");
const wrapped = ["openFile", "closeFile", "lockFile", "tryLockFile", "unlockFile", "readAt", "writeAt", "truncateFile"];

plugin({
  name: "emulate Windows locks",
  setup(build) {
    build.onLoad({ filter: /[\\/]lib[\\/]native[\\/]native\.ts$/ }, ({ path }) => {
      const original = readFileSync(path, "utf8");
      const rebind =
        `\nimport { emulate as __emulate } from ${JSON.stringify(emulator)};\n` +
        `const __checked = __emulate({ ${wrapped.join(", ")} } as any);\n` +
        wrapped.map((name) => `${name} = __checked.${name} as any;`).join("\n");
      return { contents: original + rebind, loader: "ts" };
    });
  },
});
