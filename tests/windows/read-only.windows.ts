/**
 * Read-only opens on Windows (issue 13 item 2): the mapping is an unnamed
 * PAGE_WRITECOPY section with a FILE_MAP_COPY view (native/windows.zig), beside
 * the writers' named section. What must hold, as on Linux (tests/arena/read-only.test.ts):
 * a reader sees what a writer appends after its open, a write through a view
 * stays in the process, allocation is refused, and a writer that closes while a
 * reader holds the file is not the last closer and does not shrink it.
 */
import { expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import { MappedFileRegionArena } from "../../lib/index.ts";
import { expectArenaError } from "../support/expect.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-windows-read-only-");
const capacity = 1024 * 1024;
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);

test("a reader beside a writer: sees its later appends, keeps the file from shrinking, writes privately", () => {
  const path = freshPath(directory);
  const writer = MappedFileRegionArena.create(path, { capacity });
  const first = writer.append(new TextEncoder().encode("hello"));
  const reader = MappedFileRegionArena.openReadOnly(path);
  expect(reader.readOnly).toBe(true);
  expect(reader.readableBytes).toBe(capacity);
  const later = writer.append(new TextEncoder().encode("later"));
  expect(text(reader.bytes(later, 5))).toBe("later");
  expect(reader.size).toBe(writer.size);
  expectArenaError(() => reader.allocateOffset(8), "ERR_ARENA_READ_ONLY");
  reader.bytes(first, 5)[0] = 72; // "H": this process's copy of the page only
  expect(text(reader.bytes(first, 5))).toBe("Hello");
  const usedBytes = writer.size;
  writer.close();
  expect(statSync(path).size).toBe(capacity); // the reader holds PATH.shared: no shrink
  reader.close();
  expect(readFileSync(path).subarray(first, first + 5).toString()).toBe("hello");
  MappedFileRegionArena.create(path, { capacity }).close(); // now the last closer
  expect(statSync(path).size).toBe(usedBytes);
});

test("a reader of a closed file maps its length, and the grown file when a writer adds", () => {
  const path = freshPath(directory);
  const setup = MappedFileRegionArena.create(path, { capacity });
  const first = setup.append(new TextEncoder().encode("first"));
  setup.close();
  const reader = MappedFileRegionArena.openReadOnly(path);
  expect(reader.readableBytes).toBe(statSync(path).size);
  const writer = MappedFileRegionArena.create(path, { capacity });
  const later = writer.append(new Uint8Array(64 * 1024).fill(9));
  expect(reader.size).toBe(writer.size); // maps the grown file again
  expect(reader.bytes(later, 64 * 1024).every((byte) => byte === 9)).toBe(true);
  expect(text(reader.bytes(first, 5))).toBe("first");
  writer.close();
  reader.close();
});
