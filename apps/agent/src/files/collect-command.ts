import { type CollectedFile, CollectedFileSchema, create } from '@palisade/protocol';
import type { Logger } from '@palisade/common';
import type { CollectOutcome } from '../response/command-runner.js';
import type { TlsMaterial } from '../transport/https-client.js';
import { collectFile } from './collect-file.js';
import { CollectRefusal } from './open-regular.js';
import { ReceiverError } from './upload-client.js';

/** DEFAULT_MAX_BYTES is the size cap of collect_file when the command names none: 100 MiB. */
export const DEFAULT_MAX_BYTES = 100 * 1024 * 1024;

/** CollectDeps are what collect_file needs from the running agent. */
export interface CollectDeps {
  stateDir: string;
  tls: TlsMaterial;
  /** The file receiver URL of the latest check-in ('' before the first one). */
  filesUrl(): string;
  logger: Logger;
}

/** collectCommand turns collect_file into an upload and its outcome into a command result. */
export function collectCommand(d: CollectDeps) {
  return async (req: { commandId: string; path: string; maxBytes: number }): Promise<CollectOutcome> => {
    // Delivered before the first check-in of this run (a restart): wait for it to name the receiver.
    for (let i = 0; i < 120 && !d.filesUrl(); i++) await new Promise((r) => setTimeout(r, 500));
    const filesUrl = d.filesUrl();
    if (!filesUrl)
      return {
        ok: false,
        code: 'unavailable',
        message: 'no file receiver URL yet (the server named none at check-in)',
      };
    try {
      const r = await collectFile({
        commandId: req.commandId,
        path: req.path,
        maxBytes: req.maxBytes > 0 ? req.maxBytes : DEFAULT_MAX_BYTES,
        filesUrl,
        tls: d.tls,
        stateDir: d.stateDir,
        logger: d.logger,
      });
      const collected: CollectedFile = create(CollectedFileSchema, {
        path: r.path,
        size: BigInt(r.size),
        sha256: r.sha256,
        uploadId: r.uploadId,
        resumedFrom: BigInt(r.resumedFrom),
      });
      return {
        ok: true,
        code: '',
        message: `collected ${r.path} (${r.size} bytes, sha256 ${r.sha256}${r.resumedFrom ? `, resumed at ${r.resumedFrom}` : ''})`,
        collected,
      };
    } catch (err) {
      if (err instanceof CollectRefusal) return { ok: false, code: err.code, message: err.message };
      if (err instanceof ReceiverError)
        return { ok: false, code: 'receiver', message: `the file receiver refused: ${err.message}` };
      return { ok: false, code: 'error', message: `upload failed: ${(err as Error).message}` };
    }
  };
}
