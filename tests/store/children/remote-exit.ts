// A child for remote.test.ts: uses a store's remote (a miss, an upload) with a
// long timeoutMs, closes the store, prints one line, and then has nothing left to
// do: it must exit at once, not when some deadline's timer would fire.
// Args: the remote's URL, store dir.
import { ContentStore } from "../../../lib/index.ts";

const [url, directory] = process.argv.slice(2) as [string, string];
const store = ContentStore.open(directory, { remote: { url, timeoutMs: 120_000 } });
const missed = await store.remote!.get("cd".repeat(32));
store.put(new TextEncoder().encode(`remote-exit ${process.pid} ${Date.now()}`));
const flushed = await store.flush();
store.close();
console.log(JSON.stringify({ missed: missed === null, flushed }));
