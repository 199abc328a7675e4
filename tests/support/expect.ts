// Assertions shared by the test files.
import { expect } from "bun:test";
import { ArenaError, type ArenaErrorCode } from "../../lib/index.ts";

/** Runs `run`, requires it to throw an ArenaError (an Error) with `code`, returns it. */
export function expectArenaError(run: () => unknown, code: ArenaErrorCode): ArenaError {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ArenaError);
    expect(error).toBeInstanceOf(Error);
    expect((error as ArenaError).code).toBe(code);
    return error as ArenaError;
  }
  throw new Error(`expected ArenaError ${code}, nothing was thrown`);
}
