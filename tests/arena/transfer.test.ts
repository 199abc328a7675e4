/**
 * Issue 8, item 4: APIs that transfer a view's buffer without the caller writing
 * transfer(). Each runs in a child process (transfer-child.ts): a view of the
 * arena goes to a byte stream's enqueue, structuredClone or postMessage with a
 * transfer list, or buffer.transfer(); its window moves to a buffer the arena
 * cannot reach and the arena's own is detached. The arena must keep working (a
 * fresh window over the same memory), and reading the taken buffer after the
 * last close (file shrunk) must read zeros, not kill the process.
 *
 * Broken variant caught, built in: "broken-unmap" makes a Mapping and closes it
 * the way close() did before (detach what is ours, munmap all), then reads the
 * transferred buffer: the child dies of SIGSEGV, so the same check (exit 0, no
 * signal) fails for it. Observed before the fix, through the arena: the next
 * bytes() threw "TypeError: Buffer is already detached", and the read after
 * close killed the process.
 */
import { describe, expect, test } from "bun:test";
import { statSync } from "node:fs";
import type { TransferReport } from "../support/children/transfer-child.ts";
import { diedOf, runChild } from "../support/processes.ts";
import { freshPath, tempDirectory } from "../support/temp.ts";

const directory = tempDirectory("mfa-transfer-");
const MiB = 2 ** 20;
const GiB = 2 ** 30;

async function transferIn(how: string, capacity: number): Promise<TransferReport> {
  const path = freshPath(directory);
  const result = await runChild("transfer-child.ts", [path, how, capacity]);
  expect({ how, exitCode: result.exitCode, signal: result.signalCode, stderr: result.stderr }).toEqual({
    how,
    exitCode: 0,
    signal: null,
    stderr: "",
  });
  // The last close shrank the file: the taken buffer was over a file that ends now.
  expect(statSync(path).size).toBeLessThan(4096);
  return JSON.parse(result.stdout) as TransferReport;
}

/**
 * Whether this Bun's byte streams transfer an enqueued view's buffer, as the
 * streams standard says. Bun 1.3 does not (measured on 1.3.3): the reader gets
 * the arena's own view back, and close() detaches it like any other.
 */
async function byteStreamsTransfer(): Promise<boolean> {
  const buffer = new ArrayBuffer(16);
  let controller!: ReadableByteStreamController;
  const stream = new ReadableStream({ type: "bytes", start: (c) => void (controller = c) });
  controller.enqueue(new Uint8Array(buffer));
  await stream.getReader().read();
  return buffer.detached;
}

describe("a view whose buffer is transferred away", () => {
  for (const how of ["byte-stream", "structured-clone", "post-message", "transfer"]) {
    test(`${how}: the arena keeps working, and the taken buffer reads zeros after close`, async () => {
      const report = await transferIn(how, MiB);
      if (how === "byte-stream" && !(await byteStreamsTransfer())) {
        expect(report.viewDetached).toBe(false);
        expect(report.takenAfterClose).toEqual([]);
        return;
      }
      expect(report.viewDetached).toBe(true);
      expect(report.taken).toBe("hello, transfer");
      expect(report.bytesAfter).toBe("hello, transfer");
      expect(report.appendedAfter).toBe("second");
      if (how !== "post-message") expect(report.takenSeesWrite).toBe("Hello, transfer");
      expect(report.takenAfterClose).toEqual(Array(15).fill(0));
    });
  }

  test("transfer, then close before the arena makes another view: zeros after close", async () => {
    const report = await transferIn("transfer-unnoticed", MiB);
    expect(report.taken).toBe("hello, transfer");
    expect(report.takenAfterClose).toEqual(Array(15).fill(0));
  });

  test("in an arena of 4 GiB windows (6 GiB capacity), the same", async () => {
    const report = await transferIn("transfer", 6 * GiB);
    expect(report.bytesAfter).toBe("hello, transfer");
    expect(report.appendedAfter).toBe("second");
    expect(report.takenSeesWrite).toBe("Hello, transfer");
    expect(report.takenAfterClose).toEqual(Array(15).fill(0));
  });

  test("broken variant: unmapping under the taken buffer kills the process that reads it", async () => {
    const result = await runChild("transfer-child.ts", [freshPath(directory), "broken-unmap", 0]);
    expect(result.stdout).toBe("");
    expect(diedOf(result, "SIGSEGV")).toBe(true);
  });
});
