/**
 * Checks on what callers pass in. A wrong argument is a bug in the caller, so it
 * is a TypeError (wrong type) or RangeError (right type, wrong value) that names
 * the argument, thrown before anything touches the disk.
 */

/** Returns `value` if it is a non-negative safe integer; else TypeError or RangeError naming `name`. */
export function requireNonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== "number") throw new TypeError(`${name} must be a number, got ${describe(value)}`);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer, got ${value}`);
  }
  return value;
}

/** Returns `value` if it is a non-empty string without NUL (a usable path). */
export function requireString(value: unknown, name: string): string {
  if (typeof value !== "string") throw new TypeError(`${name} must be a string, got ${describe(value)}`);
  if (value.length === 0) throw new RangeError(`${name} must not be empty`);
  if (value.includes("\0")) throw new RangeError(`${name} must not contain a NUL character`);
  return value;
}

/** Returns `value` if it is a Uint8Array (a Buffer is one). */
export function requireBytes(value: unknown, name: string): Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array, got ${describe(value)}`);
  // A detached array reads as empty; the copy would then fail with the engine's
  // error, which names no argument. Asked only of an empty one: free otherwise.
  if (value.length === 0) rejectDetached(value, name);
  return value;
}

/** TypeError naming `name` if `value`'s buffer was detached (transferred). */
export function rejectDetached(value: Uint8Array, name: string): void {
  let buffer: ArrayBuffer;
  try {
    buffer = typedArrayBuffer.call(value) as ArrayBuffer;
  } catch {
    throw notATypedArray(name);
  }
  if (buffer.detached === true) throw new TypeError(`${name} must not be detached (its buffer was transferred)`);
}

/** A Proxy passes instanceof, but is not a typed array. */
function notATypedArray(name: string): TypeError {
  return new TypeError(`${name} must be a Uint8Array, got a Proxy or another object that only claims to be one`);
}

const typedArrayBuffer = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "buffer")!.get!;

const typedArrayByteLength = Object.getOwnPropertyDescriptor(Object.getPrototypeOf(Uint8Array.prototype), "byteLength")!.get!;

/**
 * The byte length of `value` if it is a Uint8Array; else TypeError. Read with the
 * built-in getter: `length` and `byteLength` can be redefined on an instance or a
 * subclass to lie, while a copy (Uint8Array.set) uses the real length, so a
 * lying length would write past the allocation sized from it.
 */
export function requireBytesLength(value: unknown, name: string): number {
  requireBytes(value, name);
  let length: number;
  try {
    length = typedArrayByteLength.call(value) as number;
  } catch {
    throw notATypedArray(name);
  }
  if (length === 0) rejectDetached(value as Uint8Array, name);
  return length;
}

/** Returns `value` if it is a function, undefined if it is undefined; else TypeError. */
export function optionalFunction<T extends Function>(value: unknown, name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new TypeError(`${name} must be a function, got ${describe(value)}`);
  return value as T;
}

/** Returns `value` if it is a boolean, false if it is undefined; else TypeError. */
export function optionalBoolean(value: unknown, name: string): boolean {
  if (value === undefined) return false;
  if (typeof value !== "boolean") throw new TypeError(`${name} must be a boolean, got ${describe(value)}`);
  return value;
}

/** Anything but a thenable: what a callback that must be synchronous may return. */
export type NotAPromise = void | null | undefined | string | number | boolean | bigint | symbol | (object & { then?: never });

/**
 * For a callback that must finish before its caller returns: a thenable `result`
 * is a TypeError naming the callback. Its rejection is handled first, so that a
 * failure after its first await cannot kill the process as an unhandled rejection.
 */
export function refuseThenable(result: unknown, name: string): void {
  if ((typeof result !== "object" && typeof result !== "function") || result === null) return;
  const then: unknown = (result as { then?: unknown }).then;
  if (typeof then !== "function") return;
  try {
    then.call(result, undefined, () => {});
  } catch {
    // A thenable whose then throws: refused all the same.
  }
  throw new TypeError(`${name} returned a promise; it must be synchronous (it runs inside a synchronous call, which ends when it returns)`);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value === "object") return value.constructor?.name ?? "object";
  if (typeof value === "string") return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return value === undefined ? "undefined" : `${typeof value} ${String(value)}`;
}

/**
 * Every option name of `T`, as an object with one key per option: the type
 * requires all of them and refuses any other, so the list cannot drift from the
 * interface. `optionNames<ArenaOptions>({ capacity: true, ... })`.
 */
export function optionNames<T>(names: { [K in keyof Required<T>]: true }): readonly string[] {
  return Object.keys(names);
}

/**
 * TypeError for an option `options` holds that `known` does not list: a misspelt
 * one (`maxbytes` for `maxBytes`) would otherwise be ignored in silence, and the
 * store left unbounded. Own enumerable keys, as an object literal has; a key
 * whose value is undefined counts as absent (`{ ...defaults, signal: undefined }`).
 */
export function requireKnownOptions(options: object, known: readonly string[], name = "options"): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key) || (options as Record<string, unknown>)[key] === undefined) continue;
    const near = known.find((candidate) => candidate.toLowerCase() === key.toLowerCase());
    const hint = near === undefined ? "" : `did you mean ${near}? `;
    throw new TypeError(`${name}.${key} is not an option (${hint}the options are ${known.join(", ")})`);
  }
}

/**
 * `value` if it is well-formed UTF-16; else RangeError naming it. A string that
 * is hashed or stored as UTF-8 must be: UTF-8 cannot encode an unpaired
 * surrogate, and TextEncoder writes U+FFFD for it, so "\uD800", "\uDC00" and
 * "\uFFFD" would be one key.
 */
export function requireWellFormedString(value: string, name: string): string {
  if (value.isWellFormed()) return value;
  let index = 0;
  for (const character of value) {
    if (!character.isWellFormed()) break;
    index += character.length;
  }
  const unit = value.charCodeAt(index).toString(16).toUpperCase();
  throw new RangeError(`${name} must be a well-formed string: its unpaired surrogate U+${unit} at index ${index} has no UTF-8 encoding (it would hash as U+FFFD, the key of other strings)`);
}

/** `options` if it is an object holding only the options in `known`; else TypeError naming it (requireKnownOptions). */
export function requireOptions<T>(options: T, known: readonly string[], name = "options"): T & object {
  if (typeof options !== "object" || options === null) throw new TypeError(`${name} must be an object, got ${describe(options)}`);
  requireKnownOptions(options, known, name);
  return options;
}
