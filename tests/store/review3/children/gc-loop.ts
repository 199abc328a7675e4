// Child of tests/store/review3/gc.test.ts. `DIR GO`: opens the store, waits for the file GO,
// (after writing GO.ready.<pid>, so the parent knows it is open) calls gc() once and prints {"removed": n} or {"error": code, "message": ...}.
import { writeFileSync } from "node:fs";
import { ContentStore } from "../../../../lib/index.ts";
import { waitForGo } from "../../support.ts";

const [directory, go] = process.argv.slice(2);
const store = ContentStore.open(directory!);
writeFileSync(`${go}.ready.${process.pid}`, "");
waitForGo(go!);
try {
  console.log(JSON.stringify({ removed: store.gc().length }));
} catch (error) {
  const failure = error as { code?: string; message: string };
  console.log(JSON.stringify({ error: failure.code ?? String(error), message: failure.message.slice(0, 200) }));
}
store.close();
