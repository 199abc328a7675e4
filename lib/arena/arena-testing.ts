/**
 * For tests only; not exported from the package. Switches this process's arenas
 * to one broken variant (broken-variants.ts says what each undoes), so a test
 * can show that its check catches the fault it guards against.
 */
import { arenaVariant, brokenArenaVariants, type BrokenArenaVariant } from "./broken-variants.ts";

export function useBrokenArenaForTests(kind: BrokenArenaVariant | null): void {
  if (kind !== null && !brokenArenaVariants.includes(kind)) {
    throw new RangeError(`kind must be one of ${brokenArenaVariants.join(", ")} or null, got ${String(kind)}`);
  }
  arenaVariant.broken = kind;
}
