import { expect, test } from "bun:test";
import { existsSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ContentStore } from "../../../lib/index.ts";
import { tempDirectory } from "../../support/temp.ts";
import { objectBytes } from "../support.ts";
import { memoryCache } from "./servers.ts";

const root = tempDirectory("remote-arguments-");

test("push and pull refuse a manifest name that is not a well-formed string before anything is sent", async () => {
  const { server, blobs } = memoryCache();
  try {
    using store = ContentStore.open(join(root, "names"), { remote: { url: `http://127.0.0.1:${server.port}` } });
    store.put(objectBytes(1, 100));
    expect(await store.flush()).toBe(true);
    const sent = blobs.size;
    // "\uD800" and "\uDC00" would both be hashed as U+FFFD: one manifest under two names.
    for (const name of ["\uD800", "a\uDC00b", "", 7 as unknown as string]) {
      await expect(store.remote!.push(name)).rejects.toThrow(typeof name === "string" ? RangeError : TypeError);
      await expect(store.remote!.pull(name)).rejects.toThrow(/^name must/);
    }
    expect(blobs.size).toBe(sent); // nothing went out
  } finally {
    server.stop(true);
  }
});

test("a download into a store whose directory was deleted does not make the directory again", async () => {
  const { server } = memoryCache();
  try {
    const source = join(root, "source");
    let id: string;
    {
      using writer = ContentStore.open(source, { remote: { url: `http://127.0.0.1:${server.port}` } });
      id = writer.put(objectBytes(2, 3 * 2 ** 20)); // streamed through tmp/ when downloaded
      expect(await writer.flush()).toBe(true);
    }
    const directory = join(root, "deleted");
    using reader = ContentStore.open(directory, { remote: { url: `http://127.0.0.1:${server.port}`, memoryBufferBytes: 64 * 1024 } });
    rmSync(directory, { recursive: true, force: true });
    expect(await reader.remote!.get(id)).toBeNull();
    expect(existsSync(directory)).toBe(false);
    expect(reader.remoteStats()!.downloadsFailed).toBe(1);
  } finally {
    server.stop(true);
  }
});
