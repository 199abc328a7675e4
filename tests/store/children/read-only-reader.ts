/**
 * argv: store directory, object count, then steps run in order:
 *   create    try ContentStore.open (read-write) and record what it throws
 *   open      ContentStore.openReadOnly(directory)
 *   read      get, has and actions.get for every i < count: object i is the bytes of
 *             "object <i>" padded to <size> (argv 3), action "action <i>" maps to it;
 *             then validate()
 *   refuse    put, actions.put and gc: record what each throws
 *   close     close the store
 * Prints one JSON object last. Runs in its own process: a crash is a reported signal.
 */
import { ContentStore } from "../../../lib/index.ts";
import { errorCodeOf } from "../../support/error-code.ts";
import { objectBytes } from "../read-only-objects.ts";

const [directory, countText, sizeText, ...steps] = process.argv.slice(2) as [string, string, string, ...string[]];
const count = Number(countText);
const size = Number(sizeText);
const report: Record<string, unknown> = {};
let store: ContentStore | undefined;
const idOf: string[] = [];

for (const step of steps) {
  if (step === "create") {
    report.create = errorCodeOf(() => ContentStore.open(directory).close());
  } else if (step === "open") {
    store = ContentStore.openReadOnly(directory);
    report.readOnly = store.readOnly;
  } else if (step === "read") {
    let got = 0;
    let has = 0;
    let actions = 0;
    for (let i = 0; i < count; i++) {
      const bytes = objectBytes(i, size);
      const id = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
      idOf[i] = id;
      const object = store!.get(id);
      if (object !== null && Buffer.from(object.data).equals(Buffer.from(bytes))) got++;
      if (store!.has(id)) has++;
      if (store!.actions.get(`action ${i}`) === id) actions++;
    }
    const validation = store!.validate();
    Object.assign(report, { got, has, actions, valid: validation.valid, problems: validation.problems, generations: store!.stats().generations.map((generation) => generation.largeObjectBytes) });
  } else if (step === "refuse") {
    report.refused = {
      put: errorCodeOf(() => store!.put(new Uint8Array(8))),
      actionsPut: errorCodeOf(() => store!.actions.put("another action", idOf[0] ?? "00".repeat(32))),
      gc: errorCodeOf(() => store!.gc()),
    };
  } else if (step === "close") store!.close();
  else throw new Error(`unknown step ${step}`);
}
process.stdout.write(`${JSON.stringify(report)}\n`);
