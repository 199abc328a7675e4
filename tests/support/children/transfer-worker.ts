/**
 * The Worker of transfer-child.ts "post-message": receives a view whose buffer
 * was transferred to it, replies with its text; on "read" (sent after the arena
 * was closed in the other thread), replies with its bytes.
 */
declare const self: Worker;
let taken: Uint8Array | undefined;
self.onmessage = (event: MessageEvent) => {
  if (event.data === "read") {
    self.postMessage(Array.from(taken!));
    return;
  }
  taken = event.data as Uint8Array;
  self.postMessage(new TextDecoder().decode(taken));
};
