// Review of lib/store (branch review-store), area: ids given by the caller. Fails on main at b70d492.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";

const root = tempDirectory("review3-ids-");

// FINDINGS.md #13. parseIdInto (lib/store/hashing.ts) checks the length (64 UTF-16 units) and that
// Buffer.write(id, "hex") wrote 32 bytes, but Bun's hex decoder takes each character's low byte:
// "š" (U+0161) decodes as "a", "İ" (U+0130) as "0", "ａ" (U+FF41, fullwidth) as "A". So a string
// that is not 64 hex characters is accepted as an id and aliases a real one. Expected (docs/store.md:
// "Ids are 64 hex characters (either case)"; wrong arguments are RangeError naming the argument):
// RangeError for each. Observed: no error; has() answers true and get() returns the object whose
// id differs from the string in those characters.
test("an id holding non-hex characters whose low byte is a hex digit is a RangeError, not another object's id", () => {
  using store = ContentStore.open(join(root, "store"));
  const id = store.put(new TextEncoder().encode("an object"));
  const forged = [...id].map((character) => (character === "a" ? "\u0161" : character)).join("");
  expect(forged).not.toBe(id);
  expect(forged.length).toBe(64);
  const outcome = (read: () => unknown) => {
    try {
      read();
      return "accepted";
    } catch (error) {
      return (error as Error).constructor.name;
    }
  };
  expect({ has: outcome(() => store.has(forged)), get: outcome(() => store.get(forged)), put: outcome(() => store.put(new Uint8Array(1), [forged])) }).toEqual({
    has: "RangeError",
    get: "RangeError",
    put: "RangeError",
  });
});

// After the fix (branch store-fix-files): every UTF-16 code unit, at the first and the last place
// of an id, is accepted exactly when it is one of 0-9a-fA-F (the check is "ASCII only, then the
// decoder", so the decoder's handling of every other ASCII character is covered too).
test("an id is accepted exactly when every character is 0-9, a-f or A-F, for every UTF-16 code unit", () => {
  using store = ContentStore.open(join(root, "every-unit"));
  const zeros = "0".repeat(63);
  const accepted = (id: string) => {
    try {
      store.has(id);
      return true;
    } catch (error) {
      if (!(error instanceof RangeError) || !error.message.startsWith("id ")) throw error;
      return false;
    }
  };
  const wrong: string[] = [];
  for (let code = 0; code < 0x10000; code++) {
    const character = String.fromCharCode(code);
    const hex = /^[0-9a-fA-F]$/.test(character);
    if (accepted(character + zeros) !== hex || accepted(zeros + character) !== hex) wrong.push(code.toString(16));
  }
  expect(wrong).toEqual([]);
});
