/**
 * The `remote` option of ContentStore.open: where the cache is and how patient to
 * be with it. Checked once, up front, like every other argument: a wrong value is
 * a TypeError or RangeError naming it, before anything is opened.
 */
import { optionNames, requireOptions, requireString } from "../../common/arguments.ts";

export interface RemoteOptions {
  /** Base URL of a Bazel HTTP cache (`http://` or `https://`); objects go to `URL/cas/<id>`, actions to `URL/ac/<key hash>`. */
  url: string;
  /**
   * Milliseconds: the most a request waits for its response headers; a body then
   * gets this much more per `max(memoryBufferBytes, 1 MiB)` of it, counted from
   * the request's start (one deadline per request, not per piece). Default 10000.
   */
  timeoutMs?: number;
  /** Extra request headers, e.g. `{ authorization: "Bearer ..." }`. */
  headers?: Record<string, string>;
  /** PEM certificate(s) of an authority to trust for an `https` cache, besides the system's (an internal CA). */
  ca?: string;
  /** Uploads in flight at once. Default 4. */
  concurrency?: number;
  /** Tries per upload before it is given up (counted in `uploadsFailed`). Default 4. */
  maxAttempts?: number;
  /** Milliseconds before the first retry; doubled for each one after (with jitter). Default 100. */
  retryDelayMs?: number;
  /** Uploads waiting at most; puts beyond it are not uploaded (counted in `uploadsDropped`). Default 100000. */
  maxPending?: number;
  /** Bytes a download keeps in memory; a larger body streams to a temporary file. Default 8 MiB. */
  memoryBufferBytes?: number;
  /**
   * Bytes: the largest object a download accepts; a larger body (declared or
   * received) is refused. Default 4 GiB, and at most half the store's maxBytes
   * (an object larger than a generation's share could not be kept).
   */
  maxObjectBytes?: number;
  /** Milliseconds `await using` / `closeAsync()` waits for pending uploads before closing. Default 5000. */
  closeTimeoutMs?: number;
}

const remoteOptionNames = optionNames<RemoteOptions>({
  url: true, timeoutMs: true, headers: true, ca: true, concurrency: true, maxAttempts: true, retryDelayMs: true,
  maxPending: true, memoryBufferBytes: true, maxObjectBytes: true, closeTimeoutMs: true,
});

export interface RemoteSettings {
  baseUrl: string;
  timeoutMs: number;
  headers: Record<string, string>;
  ca: string | null;
  concurrency: number;
  maxAttempts: number;
  retryDelayMs: number;
  maxPending: number;
  memoryBufferBytes: number;
  maxObjectBytes: number;
  closeTimeoutMs: number;
}

function integerOption(value: unknown, name: string, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${typeof value}`);
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer from ${min} to ${max}, got ${value}`);
  }
  return value;
}

/**
 * A flush's `timeoutMs`: milliseconds, 0 or more, or Infinity (no bound; the
 * default). Anything else is refused, not read as "no bound": a caller who
 * passed a bound meant one.
 */
export function flushTimeout(value: unknown): number {
  if (typeof value !== "number") throw new TypeError(`timeoutMs must be a number of milliseconds, got ${typeof value}`);
  if (Number.isNaN(value) || value < 0) throw new RangeError(`timeoutMs must be 0 or more (or Infinity), got ${value}`);
  return value;
}

/** Validates `options.remote`; the base URL is returned without a trailing slash. */
export function remoteSettings(options: unknown): RemoteSettings {
  requireOptions(options, remoteOptionNames, "options.remote");
  const remote = options as RemoteOptions;
  const url = requireString(remote.url, "options.remote.url");
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new RangeError(`options.remote.url must be an absolute http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new RangeError(`options.remote.url must be http:// or https://, got ${parsed.protocol}`);
  }
  if (parsed.search !== "" || parsed.hash !== "") throw new RangeError("options.remote.url must not have a query or a fragment");
  const headers: Record<string, string> = {};
  if (remote.headers !== undefined) {
    if (typeof remote.headers !== "object" || remote.headers === null) throw new TypeError("options.remote.headers must be an object");
    for (const [name, value] of Object.entries(remote.headers)) {
      if (typeof value !== "string") throw new TypeError(`options.remote.headers[${JSON.stringify(name)}] must be a string`);
      headers[name] = value;
    }
    try {
      new Headers(headers); // what fetch would refuse on every request: a bad name, CR or LF in a value
    } catch (error) {
      throw new TypeError(`options.remote.headers: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return {
    baseUrl: url.replace(/\/+$/, ""),
    timeoutMs: integerOption(remote.timeoutMs, "options.remote.timeoutMs", 10_000, 1, 3_600_000),
    headers,
    ca: remote.ca === undefined ? null : requireString(remote.ca, "options.remote.ca"),
    concurrency: integerOption(remote.concurrency, "options.remote.concurrency", 4, 1, 256),
    maxAttempts: integerOption(remote.maxAttempts, "options.remote.maxAttempts", 4, 1, 100),
    retryDelayMs: integerOption(remote.retryDelayMs, "options.remote.retryDelayMs", 100, 0, 600_000),
    maxPending: integerOption(remote.maxPending, "options.remote.maxPending", 100_000, 1, 100_000_000),
    memoryBufferBytes: integerOption(remote.memoryBufferBytes, "options.remote.memoryBufferBytes", 8 * 2 ** 20, 0, 2 ** 31),
    maxObjectBytes: integerOption(remote.maxObjectBytes, "options.remote.maxObjectBytes", 4 * 2 ** 30, 1, Number.MAX_SAFE_INTEGER),
    closeTimeoutMs: integerOption(remote.closeTimeoutMs, "options.remote.closeTimeoutMs", 5_000, 0, 3_600_000),
  };
}
