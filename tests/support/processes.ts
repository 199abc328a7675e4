// Running child Bun processes from tests.
import { join } from "node:path";

export const childrenDirectory = join(import.meta.dir, "children");

export function spawnChild(script: string, args: (string | number)[], options: { stdout?: "pipe" | "inherit" } = {}) {
  return Bun.spawn([process.execPath, join(childrenDirectory, script), ...args.map(String)], {
    stdin: "pipe",
    stdout: options.stdout ?? "pipe",
    stderr: "pipe",
  });
}

/** Waits for every child; each must exit 0 and print one JSON value, which is returned. */
export async function jsonFromChildren<T>(children: ReturnType<typeof spawnChild>[]): Promise<T[]> {
  return Promise.all(
    children.map(async (child) => {
      const [stdout, stderr, exitCode] = await Promise.all([
        new Response(child.stdout).text(),
        new Response(child.stderr).text(),
        child.exited,
      ]);
      if (exitCode !== 0) throw new Error(`child failed (${exitCode}): ${stderr}`);
      return JSON.parse(stdout) as T;
    }),
  );
}

export async function runChild(script: string, args: (string | number)[]): Promise<string> {
  const child = spawnChild(script, args);
  const [stdout, stderr, exitCode] = await Promise.all([
    new Response(child.stdout).text(),
    new Response(child.stderr).text(),
    child.exited,
  ]);
  if (exitCode !== 0) throw new Error(`${script} exited with ${exitCode}: ${stderr}`);
  return stdout;
}
