import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * OCSF_DIR is the OCSF schema copy in the project's shared reference data
 * (`../shared/data/ocsf` from the repository root). PALISADE_OCSF_DIR overrides it.
 */
export const OCSF_DIR =
  process.env.PALISADE_OCSF_DIR ??
  resolve(dirname(fileURLToPath(import.meta.url)), '../../../../shared/data/ocsf');

interface AttrDef {
  type?: string;
  is_array?: boolean;
  requirement?: string;
  enum?: Record<string, unknown>;
}

interface Def {
  name?: string;
  extends?: string;
  attributes: Record<string, AttrDef | string[]>;
}

const SCALAR_TYPES = new Set([
  'boolean_t',
  'bytestring_t',
  'datetime_t',
  'email_t',
  'file_hash_t',
  'file_name_t',
  'file_path_t',
  'float_t',
  'hostname_t',
  'integer_t',
  'ip_t',
  'json_t',
  'long_t',
  'mac_t',
  'port_t',
  'process_name_t',
  'resource_uid_t',
  'string_t',
  'subnet_t',
  'timestamp_t',
  'url_t',
  'username_t',
  'uuid_t',
]);

const CLASS_FILES: Record<number, string> = {
  1001: 'events/system/file_activity.json',
  1007: 'events/system/process_activity.json',
  3002: 'events/iam/authentication.json',
  4001: 'events/network/network_activity.json',
  4003: 'events/network/dns_activity.json',
  2004: 'events/findings/detection_finding.json',
};

/**
 * OcsfValidator checks rendered events against the OCSF schema: every attribute must exist in
 * the class (with its category, base event and profiles) or in the object it belongs to,
 * required attributes must be present, enum ids must be known and scalar types must match.
 * `unmapped` is free-form, as OCSF defines it.
 */
export class OcsfValidator {
  private readonly dictionary: Record<string, AttrDef>;
  private readonly cache = new Map<string, Record<string, AttrDef>>();

  constructor(private readonly dir = OCSF_DIR) {
    if (!existsSync(join(dir, 'dictionary.json'))) {
      throw new Error(
        `OCSF schema not found at ${dir}: the conformance check needs the shared reference data (../shared/data/ocsf)`,
      );
    }
    this.dictionary = this.read('dictionary.json').attributes as Record<string, AttrDef>;
  }

  private read(rel: string): Def {
    return JSON.parse(readFileSync(join(this.dir, rel), 'utf8')) as Def;
  }

  private merge(
    def: Def,
    into: Record<string, AttrDef>,
    resolveParent: (name: string) => Def | undefined,
    fromProfile = false,
  ): void {
    if (def.extends) {
      const parent = resolveParent(def.extends);
      if (parent) this.merge(parent, into, resolveParent);
    }
    for (const [k, v] of Object.entries(def.attributes)) {
      if (k === '$include') {
        // Attributes a profile adds are optional unless the event applies that profile.
        for (const inc of v as string[]) this.merge(this.read(inc), into, () => undefined, true);
      } else {
        const prev = into[k] ?? {};
        const dict = this.dictionary[k];
        const own = v as AttrDef;
        into[k] = { ...prev, ...dict, ...own };
        // Enum values add up, as OCSF compiles them: the dictionary's (0 Unknown, 99 Other)
        // and the class's own (1 Success, 2 Failure for status_id).
        if (prev.enum || dict?.enum || own.enum) into[k]!.enum = { ...prev.enum, ...dict?.enum, ...own.enum };
        if (fromProfile && into[k]?.requirement === 'required')
          into[k] = { ...into[k], requirement: 'optional' };
      }
    }
  }

  private classAttrs(classUid: number): Record<string, AttrDef> {
    const key = `class:${classUid}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const file = CLASS_FILES[classUid];
    if (!file) throw new Error(`class_uid ${classUid} is not one Palisade emits`);
    const out: Record<string, AttrDef> = {};
    this.merge(this.read(file), out, (name) => {
      if (name === 'base_event') return this.read('events/base_event.json');
      const p = join('events', name, `${name}.json`);
      return existsSync(join(this.dir, p)) ? this.read(p) : undefined;
    });
    this.cache.set(key, out);
    return out;
  }

  private objectAttrs(name: string): Record<string, AttrDef> | undefined {
    const key = `obj:${name}`;
    const hit = this.cache.get(key);
    if (hit) return hit;
    const p = join('objects', `${name}.json`);
    if (!existsSync(join(this.dir, p))) return undefined;
    const out: Record<string, AttrDef> = {};
    this.merge(this.read(p), out, (parent) => {
      const pp = join('objects', `${parent}.json`);
      return existsSync(join(this.dir, pp)) ? this.read(pp) : undefined;
    });
    this.cache.set(key, out);
    return out;
  }

  /** validate returns the problems found in `event`; an empty list means it conforms. */
  validate(event: Record<string, unknown>): string[] {
    const problems: string[] = [];
    const classUid = event.class_uid;
    if (typeof classUid !== 'number') return ['class_uid missing'];
    const attrs = this.classAttrs(classUid);
    this.check(event, attrs, '', problems);
    const activity = attrs.activity_id?.enum;
    if (activity && !(String(event.activity_id) in activity)) {
      problems.push(`activity_id ${String(event.activity_id)} is not defined for class ${classUid}`);
    }
    if (event.type_uid !== classUid * 100 + Number(event.activity_id))
      problems.push('type_uid != class_uid*100+activity_id');
    return problems;
  }

  private check(
    obj: Record<string, unknown>,
    attrs: Record<string, AttrDef>,
    path: string,
    problems: string[],
  ): void {
    for (const [k, def] of Object.entries(attrs)) {
      if (def.requirement === 'required' && obj[k] === undefined)
        problems.push(`${path}${k}: required attribute missing`);
    }
    for (const [k, v] of Object.entries(obj)) {
      const here = `${path}${k}`;
      const def = attrs[k];
      if (!def) {
        problems.push(`${here}: not an attribute of this ${path ? 'object' : 'class'}`);
        continue;
      }
      if (k === 'unmapped' || v === undefined) continue;
      if (
        def.enum &&
        (typeof v === 'number' || typeof v === 'string') &&
        k.endsWith('_id') &&
        !(String(v) in def.enum)
      ) {
        problems.push(`${here}: ${String(v)} is not a defined value`);
      }
      if (def.is_array && !Array.isArray(v)) {
        problems.push(`${here}: expected an array`);
        continue;
      }
      const items: unknown[] = def.is_array ? (v as unknown[]) : [v];
      for (const item of items) this.checkValue(item, def.type ?? 'string_t', here, problems);
    }
  }

  private checkValue(v: unknown, type: string, here: string, problems: string[]): void {
    if (SCALAR_TYPES.has(type)) {
      const numeric = ['integer_t', 'long_t', 'float_t', 'timestamp_t', 'port_t'].includes(type);
      if (numeric && typeof v !== 'number')
        problems.push(`${here}: expected a number (${type}), got ${typeof v}`);
      if (type === 'boolean_t' && typeof v !== 'boolean') problems.push(`${here}: expected a boolean`);
      if (!numeric && type !== 'boolean_t' && type !== 'json_t' && typeof v !== 'string') {
        problems.push(`${here}: expected a string (${type}), got ${typeof v}`);
      }
      return;
    }
    if (type === 'object') return;
    const objAttrs = this.objectAttrs(type);
    if (!objAttrs) return;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) {
      problems.push(`${here}: expected a ${type} object`);
      return;
    }
    this.check(v as Record<string, unknown>, objAttrs, `${here}.`, problems);
  }
}
