// A child process for the store's multi-process and crash tests.
//   write DIR GO FROM COUNT SIZE ID VARIANT      put objects FROM..FROM+COUNT, nodes over them, action entries
//   follow DIR GO FROM COUNT SIZE VARIANT        wait for each object in order, read it back at once
//   crash-at DIR POINT AFTER SIZE VARIANT        put objects; SIGKILL itself at POINT of put number AFTER
//   ack-until-killed DIR START SIZE              put objects forever, printing "ack INDEX ID" after each
//   fill DIR GO MAXBYTES START TOTAL VARIANT     put TOTAL bytes of objects into a bounded store, reading each back at once
//   hot DIR GO MAXBYTES DONE VARIANT             put a hot set, then read it over and over until DONE exists
import { ContentStore } from "../../../lib/index.ts";
import { storeTestHooks, useBrokenVariantForTests, type BrokenVariant, type CrashPoint } from "../../../lib/store/testing.ts";
import { objectBytes, sha256Hex, waitForGo } from "../support.ts";

const [mode, directory, ...rest] = process.argv.slice(2);
function variant(name: string | undefined) {
  if (name !== undefined && name !== "none") useBrokenVariantForTests(name as BrokenVariant);
}

if (mode === "write") {
  const [go, from, count, size, writer, broken] = rest;
  variant(broken);
  using store = ContentStore.open(directory!);
  waitForGo(go!);
  const ids: string[] = [];
  let poisoned = 0;
  const won: number[] = [];
  for (let index = Number(from); index < Number(from) + Number(count); index++) {
    const id = store.put(objectBytes(index, Number(size)));
    ids.push(id);
    // A node over this object and the previous one: a DAG several writers build alike.
    if (ids.length > 1) store.put(objectBytes(index, 16), [ids[ids.length - 2]!, id]);
    store.actions.put(`object ${index}`, id); // the same id from every writer: never poisoned
    try {
      store.actions.put(`contest ${index}`, store.put(new TextEncoder().encode(`writer ${writer} result ${index}`)));
      won.push(index);
    } catch (error) {
      if ((error as { code?: string }).code !== "ERR_CAS_POISONED") throw error;
      poisoned += 1;
    }
  }
  console.log(JSON.stringify({ ids, won, poisoned }));
} else if (mode === "follow") {
  const [go, from, count, size, broken] = rest;
  variant(broken);
  using store = ContentStore.open(directory!);
  waitForGo(go!);
  let torn = 0;
  let missing = 0;
  for (let index = Number(from); index < Number(from) + Number(count); index++) {
    const bytes = objectBytes(index, Number(size));
    const id = sha256Hex(bytes);
    // Spin until the object is published, then read it at once: if the index word
    // came before the bytes, this is when they would be incomplete.
    const deadline = Date.now() + 60_000;
    while (!store.has(id)) {
      if (Date.now() > deadline) break;
    }
    const got = store.get(id);
    if (got === null) missing += 1;
    else if (sha256Hex(got.data) !== id) torn += 1;
  }
  console.log(JSON.stringify({ torn, missing }));
} else if (mode === "crash-at") {
  const [point, after, size, broken] = rest;
  variant(broken);
  using store = ContentStore.open(directory!);
  let puts = 0;
  storeTestHooks.at = (reached: CrashPoint) => {
    if (reached === point && puts === Number(after)) process.kill(process.pid, "SIGKILL");
  };
  for (puts = 0; puts <= Number(after); puts++) {
    const id = store.put(objectBytes(puts, Number(size)));
    console.log(`ack ${puts} ${id}`);
  }
} else if (mode === "ack-until-killed") {
  const [start, size] = rest;
  using store = ContentStore.open(directory!);
  for (let index = Number(start); ; index++) {
    const sizeBytes = index % 50 === 0 ? 70_000 + index : Number(size); // some large objects too
    const id = store.put(objectBytes(index, sizeBytes));
    if (index % 7 === 0) store.actions.put(`ack ${index}`, id);
    console.log(`ack ${index} ${sizeBytes} ${id}`);
  }
} else if (mode === "fill") {
  const [go, maxBytes, start, total, broken] = rest;
  variant(broken);
  using store = ContentStore.open(directory!, { maxBytes: Number(maxBytes) });
  waitForGo(go!);
  let written = 0;
  let lostAfterPut = 0;
  for (let index = Number(start); written < Number(total); index++) {
    const size = index % 40 === 0 ? 100_000 : 2048 + (index % 8) * 1024; // a large object now and then
    const id = store.put(objectBytes(index, size));
    written += size;
    // The object this process was just handed is there, whatever rotated meanwhile.
    if (store.get(id) === null) lostAfterPut += 1;
  }
  console.log(JSON.stringify({ lostAfterPut, generation: store.stats().generations[0]!.number }));
} else if (mode === "hot") {
  const [go, maxBytes, done, broken] = rest;
  variant(broken);
  using store = ContentStore.open(directory!, { maxBytes: Number(maxBytes) });
  const hot = Array.from({ length: 200 }, (_, index) => store.put(objectBytes(1_000_000_000 + index, 4096)));
  const parent = store.put(new TextEncoder().encode("hot tree"), hot.slice(0, 50));
  store.actions.put("hot action", parent);
  waitForGo(go!);
  let lost = 0;
  let sweeps = 0;
  const generations = new Set<number>();
  const { existsSync } = await import("node:fs");
  while (!existsSync(done!) || sweeps < 2) {
    for (const id of hot) if (store.get(id) === null) lost += 1;
    if (store.actions.get("hot action") !== parent) lost += 1;
    const tree = store.get(parent);
    if (tree === null || tree.refs.some((ref) => !store.has(ref))) lost += 1;
    generations.add(store.stats().generations[0]!.number);
    sweeps += 1;
  }
  console.log(JSON.stringify({ lost, sweeps, generations: generations.size }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
