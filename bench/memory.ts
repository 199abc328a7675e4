/** Issue 4, item 6: RSS and disk of an arena of 64 GiB capacity after 1 MiB of appends. */
import { join } from "node:path";
import { removeArenaFiles, scratchPath } from "./scratch.ts";

export interface MemoryResult {
  rssBefore: number;
  rssAfter: number;
  /** Linux: the file-backed part of RSS, where the arena's pages are counted. */
  rssFileBefore: number;
  rssFileAfter: number;
  fileBytesOpen: number;
  diskBytesOpen: number;
  fileBytesClosed: number;
  diskBytesClosed: number;
}

export async function benchMemory(): Promise<MemoryResult> {
  const path = scratchPath("memory");
  const child = Bun.spawn([process.execPath, join(import.meta.dir, "children", "memory.ts"), path], { stdout: "pipe", stderr: "pipe" });
  const [stdout, stderr, exitCode] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  removeArenaFiles(path);
  if (exitCode !== 0) throw new Error(`memory child failed (${exitCode}): ${stderr}`);
  return JSON.parse(stdout) as MemoryResult;
}
