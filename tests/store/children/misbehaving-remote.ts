// A child for remote-review.test.ts: serves a misbehaving Bazel HTTP cache on
// 127.0.0.1 and asks its store's remote for one object. Prints one JSON line:
// whether remote.get settled within `settleMs`, and the remote's counters.
// Args: mode ("trickle": a body that never ends, 64 KiB every 50 ms), store dir, settleMs,
// and optionally the remote's timeoutMs (default 1000).
import { ContentStore } from "../../../lib/index.ts";

const [mode, directory, settleText, timeoutText = "1000"] = process.argv.slice(2) as [string, string, string, string?];
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 0,
  fetch() {
    if (mode !== "trickle") return new Response("unknown mode", { status: 500 });
    return new Response(
      new ReadableStream({
        async pull(controller) {
          await Bun.sleep(50);
          controller.enqueue(new Uint8Array(64 * 1024));
        },
      }),
    );
  },
});
const store = ContentStore.open(directory, { remote: { url: `http://127.0.0.1:${server.port}/cache`, timeoutMs: Number(timeoutText) } });
console.log(JSON.stringify({ started: true }));
const outcome = await Promise.race([
  store.remote!.get("ab".repeat(32)).then((value) => ({ settled: true, value: value === null ? null : "object" })),
  Bun.sleep(Number(settleText)).then(() => ({ settled: false })),
]);
console.log(JSON.stringify({ ...outcome, stats: store.remoteStats() }));
process.exit(0);
