// The C peer that speaks LLVM's protocol (tests/arena/interop/llvm-style-peer.c):
// compiled once per test file, run as a child process.
import { join } from "node:path";

const source = join(import.meta.dir, "..", "arena", "interop", "llvm-style-peer.c");

/** Compiles the peer into `directory` and returns its path; throws with the reason when `cc` cannot. */
export function compileLlvmPeer(directory: string): string {
  const peer = join(directory, "llvm-style-peer");
  const compile = Bun.spawnSync(["cc", "-O2", "-std=c11", "-Wall", "-Werror", "-o", peer, source], { stderr: "pipe" });
  if (!compile.success) throw new Error(`cannot compile the C peer (is a C compiler installed as cc?): ${compile.stderr}`);
  return peer;
}

/** Runs the peer on `path`: opens it, makes `count` allocations, closes (shrinking if it is the last). */
export async function runLlvmPeer(peer: string, path: string, capacity: number, count = 0): Promise<{ exitCode: number; stderr: string }> {
  const child = Bun.spawn([peer, path, String(capacity), "0", String(count), "1", "64", "1", "atomic"], {
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const stderr = await new Response(child.stderr).text();
  return { exitCode: await child.exited, stderr };
}
