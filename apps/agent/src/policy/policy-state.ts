import { type Policy, Tier } from '@palisade/protocol';

/** TierName is how people write a tier in flags and config. */
export type TierName = 'server' | 'workstation';

/** tierFromName maps a tier name to the wire enum. */
export function tierFromName(name: TierName): Tier {
  return name === 'server' ? Tier.SERVER : Tier.WORKSTATION;
}

/** tierName renders a wire tier for logs. */
export function tierName(t: Tier): string {
  return t === Tier.SERVER ? 'server' : t === Tier.WORKSTATION ? 'workstation' : 'unspecified';
}

/** DEFAULT_TIER applies before any policy arrives and without an override. */
export const DEFAULT_TIER = Tier.WORKSTATION;

/**
 * PolicyState decides the telemetry tier: a local override (flag or config) wins; otherwise the
 * server's policy (from check-in, Welcome or a set_policy command); otherwise DEFAULT_TIER. Every
 * change of the effective tier is passed to `apply` (which calls setTier on each sensor).
 */
export class PolicyState {
  private policy: Policy | undefined;
  private override: Tier | undefined;
  private effective: Tier;

  constructor(
    private readonly apply: (tier: Tier) => void,
    override?: TierName,
  ) {
    this.override = override ? tierFromName(override) : undefined;
    this.effective = this.compute();
  }

  /** tier is the tier the sensors run now. */
  get tier(): Tier {
    return this.effective;
  }

  /** revision is the server policy revision this agent runs (0 before any policy). */
  get revision(): bigint {
    return this.policy?.revision ?? 0n;
  }

  /** setServerPolicy takes a policy from the server; an older revision than the current one is ignored. */
  setServerPolicy(p: Policy): boolean {
    if (this.policy && p.revision < this.policy.revision) return false;
    this.policy = p;
    this.update();
    return true;
  }

  /** setOverride sets or (with undefined) clears the local tier override. */
  setOverride(name: TierName | undefined): void {
    this.override = name ? tierFromName(name) : undefined;
    this.update();
  }

  private compute(): Tier {
    if (this.override !== undefined) return this.override;
    const t = this.policy?.tier;
    return t === Tier.SERVER || t === Tier.WORKSTATION ? t : DEFAULT_TIER;
  }

  private update(): void {
    const next = this.compute();
    if (next === this.effective) return;
    this.effective = next;
    this.apply(next);
  }
}
