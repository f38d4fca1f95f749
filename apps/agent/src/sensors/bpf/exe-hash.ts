// What the event mapper needs of an executable hasher (the hasher itself reads /proc: exe-hasher.linux.ts).

/** HashState is Process.hash_state. */
export const HashState = { None: 0, Done: 1, Pending: 2, Skipped: 3 } as const;

/** ExeIdentity is what the kernel said about an executable at exec time. */
export interface ExeIdentity {
  ino: number;
  size: number;
  mtimeSec: number;
  mtimeNsec: number;
  /** The kernel's dev_t (major << 20 | minor). */
  dev: number;
}

export interface ExeHash {
  sha256: string;
  state: number;
}

/** ExeHashSource answers the hash of an executable the kernel reported. */
export interface ExeHashSource {
  hash(pid: number, path: string, id: ExeIdentity): ExeHash;
}
