/**
 * argv: arena path. Creates the arena with an async onCreate that allocates, awaits,
 * then fails, and prints what create() did: "refused: <TypeError message>" or
 * "returned". Then waits for the onCreate to have failed: an unhandled rejection
 * would end this process with a non-zero exit code.
 */
import { MappedFileRegionArena } from "../../../lib/index.ts";

const [path] = process.argv.slice(2) as [string];
let settled!: () => void;
const onCreateSettled = new Promise<void>((resolve) => (settled = resolve));
try {
  const arena = MappedFileRegionArena.create(path, {
    capacity: 1024 * 1024,
    // @ts-expect-error the type refuses an async onCreate too
    onCreate: async (created: MappedFileRegionArena) => {
      try {
        created.append(new Uint8Array(100).fill(0x22));
        await Bun.sleep(1);
        throw new Error("onCreate failed after its first await");
      } finally {
        setTimeout(settled, 50); // after the rejection has been seen, or not
      }
    },
  });
  arena.close();
  console.log("returned");
} catch (error) {
  console.log(error instanceof TypeError ? `refused: ${error.message}` : `threw: ${String(error)}`);
}
await onCreateSettled;
