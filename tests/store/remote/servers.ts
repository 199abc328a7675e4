// Misbehaving HTTP servers on 127.0.0.1 for the remote-cache tests: slow, resetting,
// redirecting, failing. Each is stopped by the test that starts it.
import { createServer, type Server, type Socket } from "node:net";
import { sha256Hex } from "../support.ts";

/** A proxy in front of `target` that waits `delayMs` before forwarding each request. */
export function slowProxy(target: string, delayMs: number) {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      await Bun.sleep(delayMs);
      const url = new URL(request.url);
      return fetch(`${target}${url.pathname.replace(/^\/cache/, "")}`, {
        method: request.method,
        body: request.method === "PUT" ? await request.arrayBuffer() : undefined,
      });
    },
  });
}

/** A cache that serves `blobs` by id at `/cas/<id>` (404 otherwise), counting the GETs. */
export function countingCache(blobs: Map<string, Uint8Array>) {
  const counts = { gets: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      counts.gets += request.method === "GET" ? 1 : 0;
      const blob = blobs.get(new URL(request.url).pathname.replace(/^\/cas\//, ""));
      return blob === undefined ? new Response("not found", { status: 404 }) : new Response(blob);
    },
  });
  return { server, counts };
}

/** A minimal Bazel HTTP cache on 127.0.0.1, in memory: PUT stores a body under its path, GET returns it (404 otherwise). */
export function memoryCache() {
  const blobs = new Map<string, Uint8Array>();
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      const path = new URL(request.url).pathname;
      if (request.method === "PUT") {
        blobs.set(path, new Uint8Array(await request.arrayBuffer()));
        return new Response(null, { status: 201 });
      }
      const body = blobs.get(path);
      return body === undefined ? new Response("", { status: 404 }) : new Response(body);
    },
  });
  return { server, blobs };
}

/** A cache on 127.0.0.1 that stores PUTs in memory, each held until `open()` is called. */
export function gatedCache() {
  const blobs = new Map<string, Uint8Array>();
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    async fetch(request) {
      if (request.method !== "PUT") return new Response("not found", { status: 404 });
      const body = new Uint8Array(await request.arrayBuffer());
      await gate;
      blobs.set(new URL(request.url).pathname, body);
      return new Response(null, { status: 201 });
    },
  });
  return { server, blobs, open };
}

/** A server that redirects every request to itself. */
export function redirectLoop() {
  return Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch(request) {
      return Response.redirect(request.url, 302);
    },
  });
}

/** A server that answers every request with `status`, counting the requests and their headers. */
export function fixedStatus(status: number) {
  const seen: { method: string; path: string; headers: Headers }[] = [];
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      if (request.body) await request.arrayBuffer();
      seen.push({ method: request.method, path: new URL(request.url).pathname, headers: request.headers });
      return new Response(status === 404 ? "not found" : "nope", { status });
    },
  });
  return { server, seen };
}

/**
 * A raw TCP server that sends a 200 response's headers promising `declaredBytes`,
 * then `sentBytes` of them, then resets the connection.
 */
export async function resetMidBody(declaredBytes: number, sentBytes: number): Promise<{ server: Server; port: number }> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.once("data", () => {
      socket.write(`HTTP/1.1 200 OK\r\ncontent-length: ${declaredBytes}\r\ncontent-type: application/octet-stream\r\n\r\n`);
      socket.write(Buffer.alloc(sentBytes, 1), () => socket.resetAndDestroy());
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no port");
  return { server, port: address.port };
}

/** A server that counts how many PUTs are in flight at once, holding each for `holdMs`. */
export function concurrencyMeter(holdMs: number) {
  const meter = { inFlight: 0, most: 0, puts: 0 };
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    async fetch(request) {
      meter.inFlight += 1;
      meter.most = Math.max(meter.most, meter.inFlight);
      meter.puts += 1;
      await request.arrayBuffer();
      await Bun.sleep(holdMs);
      meter.inFlight -= 1;
      return new Response(null, { status: 201 });
    },
  });
  return { server, meter };
}

/**
 * A cache on 127.0.0.1 serving `blobs` at /cas/<sha256> as streams without a Content-Length
 * (so the store drops the first answer, asks again on a deadline of its own, and spills the
 * body to tmp/). From the second GET of a blob on, the body stops after 256 KiB until
 * `release()`; `held()` counts those bodies.
 */
export function heldBodies(blobs: Uint8Array[]) {
  const byPath = new Map(blobs.map((blob) => [`/cas/${sha256Hex(blob)}`, blob]));
  const gets = new Map<string, number>();
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  let heldCount = 0;
  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    idleTimeout: 0,
    fetch(request) {
      const path = new URL(request.url).pathname;
      const blob = byPath.get(path);
      if (blob === undefined) return new Response("not found", { status: 404 });
      const count = (gets.get(path) ?? 0) + 1;
      gets.set(path, count);
      const hold = count >= 2;
      if (hold) heldCount += 1;
      return new Response(
        new ReadableStream({
          async start(controller) {
            controller.enqueue(blob.subarray(0, 256 * 1024));
            if (hold) await released;
            controller.enqueue(blob.subarray(256 * 1024));
            controller.close();
          },
        }),
      );
    },
  });
  return { server, release, held: () => heldCount };
}
