// A child process for the store's multi-process and crash tests.
//   write DIR GO FROM COUNT SIZE ID VARIANT [PAUSE_MS]  put objects FROM..FROM+COUNT, nodes over them, action
//                                                 entries; pause PAUSE_MS at each "index-published" point
//   follow DIR GO FROM COUNT SIZE VARIANT        wait for each object in order, read it back at once
//   crash-at DIR POINT AFTER SIZE VARIANT        put objects; SIGKILL itself at POINT of put number AFTER
//   open-killed DIR VARIANT                       open a new store; SIGKILL itself once the marker's bytes are written, before they are in place
//   ack-until-killed DIR START SIZE              put objects forever, printing "ack INDEX ID" after each
//   fill DIR GO MAXBYTES START TOTAL VARIANT     put TOTAL bytes of objects into a bounded store, reading each back at once
//   hot DIR GO MAXBYTES DONE VARIANT             put a hot set, then read it over and over until DONE exists
//   hold DIR MAXBYTES FILL READY RELEASE VARIANT put FILL bytes, read the hot set, create READY, then do
//                                                 nothing (holding the generations it has open) until RELEASE
//                                                 exists; then close
import { ContentStore } from "../../../lib/index.ts";
import { storeTestHooks, useBrokenVariantForTests, type BrokenVariant, type CrashPoint } from "../../../lib/store/testing.ts";
import { hotSet, objectBytes, readHotSet, sha256Hex, waitForGo } from "../support.ts";

const [mode, directory, ...rest] = process.argv.slice(2);
function variant(name: string | undefined) {
  if (name !== undefined && name !== "none") useBrokenVariantForTests(name as BrokenVariant);
}

if (mode === "write") {
  const [go, from, count, size, writer, broken, pauseMs] = rest;
  variant(broken);
  // A rendezvous for the followers: after an index word is published, wait a
  // little, so a follower spinning on has() reads the object while (in the broken
  // variant) its bytes are not yet written. The correct order has written them.
  if (Number(pauseMs ?? 0) > 0) storeTestHooks.at = (point) => point === "index-published" && Bun.sleepSync(Number(pauseMs));
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
  let torn = 0;
  let missing = 0;
  const first = Number(from);
  const end = first + Number(count);
  const ids = Array.from({ length: end - first }, (_, offset) => sha256Hex(objectBytes(first + offset, Number(size))));
  waitForGo(go!);
  for (let index = 0; index < ids.length; index++) {
    // Stay at the frontier: skip what is already published, then spin on the next
    // one and read it the moment it appears. If the index word came before the
    // bytes, this is when they would be incomplete.
    while (index + 1 < ids.length && store.has(ids[index + 1]!)) index += 1;
    const deadline = Date.now() + 60_000;
    while (!store.has(ids[index]!) && Date.now() < deadline) {}
    const got = store.get(ids[index]!);
    if (got === null) missing += 1;
    else if (sha256Hex(got.data) !== ids[index]) torn += 1;
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
} else if (mode === "open-killed") {
  const [broken] = rest;
  variant(broken);
  storeTestHooks.at = (reached: CrashPoint) => reached === "file-written" && process.kill(process.pid, "SIGKILL");
  ContentStore.open(directory!);
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
  let hotLost = 0;
  const hot = hotSet();
  for (let index = Number(start); written < Number(total); index++) {
    // Read the hot set often (every 64 puts, a small share of a generation): what
    // is read must survive every rotation these writes cause.
    if (index % 64 === 0) hotLost += readHotSet(store, hot);
    const size = index % 40 === 0 ? 100_000 : 2048 + (index % 8) * 1024; // a large object now and then
    const id = store.put(objectBytes(index, size));
    written += size;
    // The object this process was just handed is there, whatever rotated meanwhile.
    if (store.get(id) === null) lostAfterPut += 1;
  }
  console.log(JSON.stringify({ lostAfterPut, hotLost, generation: store.stats().generations[0]!.number }));
} else if (mode === "hot") {
  const [go, maxBytes, done, broken] = rest;
  variant(broken);
  using store = ContentStore.open(directory!, { maxBytes: Number(maxBytes) });
  const hot = hotSet();
  waitForGo(go!);
  let lost = 0;
  let sweeps = 0;
  const generations = new Set<number>();
  const { existsSync } = await import("node:fs");
  while (!existsSync(done!) || sweeps < 2) {
    lost += readHotSet(store, hot);
    generations.add(store.stats().generations[0]!.number);
    sweeps += 1;
  }
  console.log(JSON.stringify({ lost, sweeps, generations: generations.size }));
} else if (mode === "hold") {
  const [maxBytes, fill, ready, release, broken] = rest;
  variant(broken);
  const { existsSync, writeFileSync } = await import("node:fs");
  const store = ContentStore.open(directory!, { maxBytes: Number(maxBytes) });
  for (let index = 5_000_000, written = 0; written < Number(fill); index++, written += 8192) store.put(objectBytes(index, 8192));
  const lost = readHotSet(store, hotSet());
  const held = store.stats().generations.map((generation) => generation.number);
  writeFileSync(ready!, "");
  const deadline = Date.now() + 240_000;
  while (!existsSync(release!) && Date.now() < deadline) Bun.sleepSync(10);
  store.close();
  console.log(JSON.stringify({ lost, held }));
} else {
  throw new Error(`unknown mode ${mode}`);
}
