/**
 * Validation of one generation (LLVM's OnDiskGraphDB::validate and
 * OnDiskKeyValueDB::validate): walks every index record and reports each
 * inconsistency as a sentence, instead of stopping at the first. Bounded by the
 * index (its records() walk is bounded by the file) and never trusts a length
 * before checking it against the pool.
 */
import { ArenaError } from "../common/errors.ts";
import { isPlausibleLargeObjectBytes, type Generation } from "./generation.ts";
import { hashObjectInto, idBytes, idToHex, sameId } from "./hashing.ts";
import { isPresent, largeObjectFile, locationOf, readObject } from "./object-io.ts";
import { StorageKind } from "./object-record.ts";

export interface ValidationReport {
  /** True when no problem was found. */
  valid: boolean;
  /** Every problem, one sentence each, naming the generation and the id. */
  problems: string[];
  /** Object records looked at. */
  objects: number;
  /** Action entries looked at. */
  actions: number;
}

const computed = new Uint8Array(idBytes);

export function validateGeneration(generation: Generation, deep: boolean, report: ValidationReport): void {
  const where = generation.directory;
  for (const table of [generation.objects, generation.actions]) {
    try {
      table.validate();
    } catch (error) {
      if (!(error instanceof ArenaError)) throw error;
      report.problems.push(`${where}: ${error.message}`);
      return; // the walks below would trip over the same damage
    }
  }
  let listedFileBytes = 0;
  for (const record of generation.objects) {
    report.objects += 1;
    const location = locationOf(record.data);
    if (location.kind === StorageKind.none) continue; // abandoned by a crash before publishing: harmless
    const idHex = idToHex(record.hash);
    if (location.kind === StorageKind.leafFile || location.kind === StorageKind.recordFile) {
      listedFileBytes += location.offset;
      const file = largeObjectFile(generation, record.hash, location.kind);
      if (file.length === null) {
        report.problems.push(`${where}: object ${idHex}: its file ${file.path} is missing`);
        continue;
      }
      if (file.length !== location.offset) {
        report.problems.push(`${where}: object ${idHex}: its file ${file.path} has ${file.length} bytes, not ${location.offset}`);
        continue;
      }
      if (!deep) continue; // shallow: the file is there and whole; pool records are read below
    }
    let content;
    try {
      content = readObject(generation, record.hash, location);
    } catch (error) {
      if (!(error instanceof ArenaError)) throw error;
      report.problems.push(error.message);
      continue;
    }
    for (let index = 0; index < content.refCount; index++) {
      const ref = content.refBytes.subarray(index * idBytes, (index + 1) * idBytes);
      if (!isPresent(generation, ref)) {
        report.problems.push(`${where}: object ${idHex} refers to ${idToHex(ref)}, which is not in the generation`);
      }
    }
    if (!deep) continue;
    hashObjectInto(content.data, content.refBytes, content.refCount, computed);
    if (!sameId(computed, 0, record.hash, 0)) {
      report.problems.push(`${where}: object ${idHex} does not hash to its id (its bytes hash to ${idToHex(computed)})`);
    }
  }
  checkLargeObjectCounter(generation, listedFileBytes, report);
  for (const record of generation.actions) {
    report.actions += 1;
    if (!isPresent(generation, record.data)) {
      report.problems.push(`${where}: an action entry maps to ${idToHex(record.data)}, which is not in the generation`);
    }
  }
}

/**
 * The generation's large-object byte counter against the file lengths its index
 * lists (`listedBytes`). A put adds a file's length to the counter before it
 * publishes the index word, so the counter, read after the walk, is at least
 * what the walk saw. It may be more (racing writers of one object each add; a
 * writer killed between adding and publishing): that costs only an early
 * rotation, and is not reported. Less, or a value no put makes, is damage: the
 * budget check would undercount the generation (Generation.storageBytes).
 */
function checkLargeObjectCounter(generation: Generation, listedBytes: number, report: ValidationReport): void {
  const counter = generation.largeObjectBytes;
  const where = `${generation.directory}: its large-object byte counter reads ${counter}`;
  if (!isPlausibleLargeObjectBytes(counter)) report.problems.push(`${where}, which no put could have made (the generation counts as full)`);
  else if (counter < listedBytes) report.problems.push(`${where}, less than the ${listedBytes} bytes of files its index lists`);
}
