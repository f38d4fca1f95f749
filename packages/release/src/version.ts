import { PalisadeError } from '@palisade/common';

const VERSION = /^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$/;

/** isVersion tells whether `v` is a release version: X.Y.Z, decimal, no leading zeros. */
export function isVersion(v: string): boolean {
  return VERSION.test(v);
}

/** parseVersion splits X.Y.Z into numbers, or throws naming what is wrong. */
export function parseVersion(v: string, field = 'version'): [number, number, number] {
  const m = VERSION.exec(v);
  if (!m) {
    throw new PalisadeError(
      'validation_failed',
      `field ${field}: ${JSON.stringify(v.slice(0, 40))} is not a version X.Y.Z (decimal, no leading zeros)`,
    );
  }
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** compareVersions orders two X.Y.Z versions: negative when a < b, 0 when equal, positive when a > b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  for (let i = 0; i < 3; i++) {
    const d = (x[i] as number) - (y[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}
