import fc from 'fast-check';

export { fc };

/** FuzzOutcome is what one input did: accepted, or refused with the documented error. */
export type FuzzOutcome = 'accepted' | 'refused';

/**
 * FuzzTarget is one decoder of outside input under fuzzing: an arbitrary of inputs (random and
 * almost-valid ones) and `check`, which feeds one input to the decoder and returns whether it
 * was accepted or refused the documented way. Anything else (another exception, a 500, a wrong
 * answer) must throw: that is a finding. `setup`/`teardown` hold what the target needs (a server).
 */
export interface FuzzTarget<T = unknown> {
  name: string;
  /** The documented error (or answer) a refusal is, for the report. */
  refusal: string;
  input: fc.Arbitrary<T>;
  check(input: T): FuzzOutcome | Promise<FuzzOutcome>;
  setup?(): Promise<void>;
  teardown?(): Promise<void>;
}

/** FuzzReport is the count of one run of one target. */
export interface FuzzReport {
  target: string;
  runs: number;
  accepted: number;
  refused: number;
  /** Slowest single input, ms (a hang would show here, and fails beyond `maxInputMs`). */
  slowestMs: number;
  ms: number;
  seed: number;
}

/**
 * fuzz runs `target` on `runs` inputs (fast-check, shrinking a failure to a small input and
 * reporting its seed). An input taking longer than `maxInputMs` fails as a hang: a generous
 * liveness bound, not a timing assertion.
 */
export async function fuzz<T>(
  target: FuzzTarget<T>,
  runs: number,
  o: { seed?: number; maxInputMs?: number } = {},
): Promise<FuzzReport> {
  const maxInputMs = o.maxInputMs ?? 5000;
  const seed = o.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  const counts = { accepted: 0, refused: 0, slowest: 0 };
  const started = performance.now();
  await target.setup?.();
  try {
    await fc.assert(
      fc.asyncProperty(target.input, async (x) => {
        const t0 = performance.now();
        const out = await target.check(x);
        const took = performance.now() - t0;
        if (took > counts.slowest) counts.slowest = took;
        if (took > maxInputMs)
          throw new Error(`${target.name}: one input took ${Math.round(took)} ms (hang?)`);
        if (out !== 'accepted' && out !== 'refused')
          throw new Error(`${target.name}: check returned ${String(out)}`);
        counts[out]++;
      }),
      { numRuns: runs, seed },
    );
  } finally {
    await target.teardown?.();
  }
  return {
    target: target.name,
    runs,
    accepted: counts.accepted,
    refused: counts.refused,
    slowestMs: Math.round(counts.slowest * 10) / 10,
    ms: Math.round(performance.now() - started),
    seed,
  };
}

/** mutate flips, inserts and deletes bytes of a valid input: "almost valid" inputs reach deeper. */
export function mutated(valid: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array> {
  const edit = fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
    fc.record({ op: fc.constant('set' as const), at: fc.nat(), v: fc.integer({ min: 0, max: 255 }) }),
    fc.record({ op: fc.constant('cut' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('insert' as const), at: fc.nat(), b: fc.uint8Array({ maxLength: 8 }) }),
  );
  return fc.tuple(valid, fc.array(edit, { minLength: 1, maxLength: 4 })).map(([v, edits]) => {
    let b = Buffer.from(v);
    for (const e of edits) {
      const at = b.byteLength ? e.at % b.byteLength : 0;
      if (e.op === 'flip' && b.byteLength) b[at]! ^= 1 << e.bit;
      else if (e.op === 'set' && b.byteLength) b[at] = e.v;
      else if (e.op === 'cut') b = b.subarray(0, at);
      else if (e.op === 'insert') b = Buffer.concat([b.subarray(0, at), e.b, b.subarray(at)]);
    }
    return new Uint8Array(b);
  });
}
