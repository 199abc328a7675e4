// For child processes that report what calls threw, as JSON (no bun:test here).

/** "no error" if `action` returns; else the thrown error's `code`, or the error as text. */
export function errorCodeOf(action: () => unknown): string {
  try {
    action();
    return "no error";
  } catch (error) {
    return (error as { code?: string }).code ?? String(error);
  }
}
