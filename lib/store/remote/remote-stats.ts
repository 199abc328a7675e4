/**
 * What the remote did, counted: nothing a remote does fails a local operation,
 * so this is where its failures show. One object per store, mutated in place;
 * remoteStats() hands out a copy.
 */

export interface RemoteStats {
  /** Uploads waiting or in flight. */
  pending: number;
  /** Uploads the server accepted (objects and action entries). */
  uploaded: number;
  /** Uploads given up after every attempt failed. */
  uploadsFailed: number;
  /** Retries made (each failed attempt that was tried again). */
  uploadRetries: number;
  /** Puts not uploaded because `maxPending` uploads were already waiting. */
  uploadsDropped: number;
  /** Uploads still waiting (not in flight) when the store was closed; those in flight count themselves. */
  uploadsAbandoned: number;
  /** Objects not uploaded: with refs (see docs/remote.md), gone from the local store before their turn, or unreadable there. */
  uploadsSkipped: number;
  /** Local misses the remote satisfied (verified and stored locally). */
  hits: number;
  /** Local misses the remote did not have either (404). */
  misses: number;
  /** Downloads that failed: timeouts, errors, refused bodies (a miss for the caller). */
  downloadsFailed: number;
  /** Bodies refused because they did not hash to their id, or were not a valid action entry; uploads stopped because the local bytes no longer hash to their id. */
  corrupt: number;
  /** Requests that timed out (a subset of the failures above). */
  timeouts: number;
  /** Responses that were redirects: never followed, counted as failures. */
  redirects: number;
  /** Responses with a 5xx status. */
  serverErrors: number;
  /** Requests that never got a response: refused, reset, DNS, TLS. */
  networkErrors: number;
  bytesUploaded: number;
  bytesDownloaded: number;
  /** The last failure, as a sentence, or null. */
  lastError: string | null;
}

export function emptyRemoteStats(): RemoteStats {
  return {
    pending: 0,
    uploaded: 0,
    uploadsFailed: 0,
    uploadRetries: 0,
    uploadsDropped: 0,
    uploadsAbandoned: 0,
    uploadsSkipped: 0,
    hits: 0,
    misses: 0,
    downloadsFailed: 0,
    corrupt: 0,
    timeouts: 0,
    redirects: 0,
    serverErrors: 0,
    networkErrors: 0,
    bytesUploaded: 0,
    bytesDownloaded: 0,
    lastError: null,
  };
}
