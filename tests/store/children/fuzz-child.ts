// Damages a copy of a store at random (seeded) and uses it: open, validate (deep),
// has/get/view/getInto every known id, actions.get. Anything but an ArenaError from the store is
// a bug, and so is a crash or a hang; prints one JSON line per case.
import { cpSync, openSync, readdirSync, readSync, statSync, writeSync, closeSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ArenaError, ContentStore } from "../../../lib/index.ts";
import { prng } from "../../support/random.ts";

const [template, scratch, firstSeed, cases, idsJson] = process.argv.slice(2);
const ids = JSON.parse(idsJson!) as string[];

function damage(directory: string, random: () => number): string {
  const generation = join(directory, "v1.0");
  const files = readdirSync(generation).filter((name) => name !== "lock" && !name.endsWith(".shared"));
  const name = files[Math.floor(random() * files.length)]!;
  const path = join(generation, name);
  const size = statSync(path).size;
  if (size === 0) return `${name}: empty`;
  const fd = openSync(path, "r+");
  const flips = 1 + Math.floor(random() * 8);
  const byte = new Uint8Array(1);
  for (let flip = 0; flip < flips; flip++) {
    // Aim at the start of the file (headers, the root subtrie) half the time.
    const at = random() < 0.5 ? Math.floor(random() * Math.min(size, 4096)) : Math.floor(random() * size);
    readSync(fd, byte, 0, 1, at);
    byte[0] = random() < 0.3 ? 0xff : byte[0]! ^ (1 << Math.floor(random() * 8));
    writeSync(fd, byte, 0, 1, at);
  }
  closeSync(fd);
  return `${name}: ${flips} flips`;
}

for (let seed = Number(firstSeed); seed < Number(firstSeed) + Number(cases); seed++) {
  const random = prng(seed);
  const directory = join(scratch!, `case-${seed}`);
  cpSync(template!, directory, { recursive: true });
  const what = damage(directory, random);
  let outcome = "ok";
  try {
    using store = ContentStore.open(directory, { verifyOnRead: random() < 0.5 });
    const report = store.validate({ deep: true });
    const into = new Uint8Array(256);
    for (const id of ids) {
      // Each read on its own: one that throws must not spare the others.
      for (const read of [() => store.has(id), () => store.get(id), () => store.view(id)?.[0], () => store.getInto(id, into)]) {
        try {
          read();
        } catch (error) {
          if (!(error instanceof ArenaError)) throw error;
        }
      }
    }
    store.actions.get("action 1");
    outcome = report.valid ? "valid" : `${report.problems.length} problems`;
  } catch (error) {
    if (!(error instanceof ArenaError)) {
      console.log(JSON.stringify({ seed, what, bug: String((error as Error).stack ?? error) }));
      process.exit(1);
    }
    outcome = error.code;
  }
  rmSync(directory, { recursive: true, force: true });
  console.log(JSON.stringify({ seed, what, outcome }));
}
