import { describe, expect, test } from "bun:test";
import { inspect } from "node:util";
import { ArenaError } from "../../lib/index.ts";

describe("ArenaError shows what it knows, and nothing it does not", () => {
  test("an error without a system call has no syscall, errno or path keys, so a printed error does not show them as undefined", () => {
    const error = new ArenaError("ERR_ARENA_FULL", "full");
    for (const key of ["syscall", "errno", "path", "committedRecords"]) expect(Object.keys(error)).not.toContain(key);
    const printed = inspect(error);
    expect(printed).not.toContain("undefined");
    expect(error.syscall).toBeUndefined();
    expect(error.errno).toBeUndefined();
  });

  test("an error from a system call carries its syscall, errno and path", () => {
    const error = new ArenaError("ENOSPC", "no space", { syscall: "fallocate", errno: 28, path: "some/file" });
    expect(error).toMatchObject({ code: "ENOSPC", syscall: "fallocate", errno: 28, path: "some/file" });
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe("ArenaError");
  });
});
