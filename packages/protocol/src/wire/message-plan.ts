import { type DescField, type DescMessage, ScalarType } from '@bufbuild/protobuf';
import { EventSchema } from '../gen/palisade/v1/event_pb.js';
import { EventBatchSchema } from '../gen/palisade/v1/telemetry_pb.js';
import { SEARCH_FIELD_PATHS } from './search-fields.js';

/*
 * The batch reader's view of the schema, built once at module load from the generated
 * descriptors: per message, a table from field number to how the field's bytes are read. Nothing
 * here repeats a field number of the .proto files, so a field added there is read (checked,
 * decoded, skipped when unknown to an older build) without an edit here.
 */

/** Wire types (the low three bits of a tag). */
export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;
export const WIRE_I32 = 5;

/** How one value of a field is read. */
export const K_UINT32 = 0;
export const K_INT32 = 1; // also open enums
export const K_SINT32 = 2;
export const K_UINT64 = 3;
export const K_INT64 = 4;
export const K_SINT64 = 5;
export const K_BOOL = 6;
export const K_FIXED32 = 7;
export const K_SFIXED32 = 8;
export const K_FLOAT = 9;
export const K_FIXED64 = 10;
export const K_SFIXED64 = 11;
export const K_DOUBLE = 12;
export const K_STRING = 13;
export const K_BYTES = 14;
export const K_MESSAGE = 15;
export const K_MAP = 16;

/** What a field means to the batch index (only fields of the batch's Event have a role). */
export const R_NONE = 0;
export const R_CLASS = 1;
export const R_ACTIVITY = 2;
export const R_TIME = 3;
/** EventBatch.events: each value is one event of the batch. */
export const R_EVENT = 4;

export type Obj = Record<string, unknown>;

/** FieldPlan says how to read one field. */
export class FieldPlan {
  /** The message read for a message field, or the entry of a map field. */
  child: MessagePlan | null = null;
  constructor(
    /** For errors: `palisade.v1.Process.cmd_line`. */
    readonly label: string,
    /** The property of the decoded message (protobuf-es local name). */
    readonly name: string,
    readonly kind: number,
    /** The wire type of one value. */
    readonly wire: number,
    readonly list: boolean,
    /** A repeated scalar: also accepted packed (one length-delimited run of values). */
    readonly packable: boolean,
    /** The oneof's property, when the field is a member of one. */
    readonly oneof: string | null,
    /** Index into SEARCH_FIELDS when this field (at this place in an Event) is searched, else -1. */
    readonly slot: number,
    readonly role: number,
    /** 64-bit integers decode to strings (jstype = JS_STRING). */
    readonly longAsString: boolean,
  ) {}
}

/** MessagePlan is how to read one message (at one place in an Event: search slots depend on the path). */
export class MessagePlan {
  /** By field number; undefined for numbers the schema does not know. */
  readonly fields: (FieldPlan | undefined)[] = [];
  /** make returns a new decoded message with every field at its default. */
  make: () => Obj = () => ({});
  constructor(readonly typeName: string) {}
}

function kindOf(s: ScalarType): number {
  switch (s) {
    case ScalarType.UINT32:
      return K_UINT32;
    case ScalarType.INT32:
      return K_INT32;
    case ScalarType.SINT32:
      return K_SINT32;
    case ScalarType.UINT64:
      return K_UINT64;
    case ScalarType.INT64:
      return K_INT64;
    case ScalarType.SINT64:
      return K_SINT64;
    case ScalarType.BOOL:
      return K_BOOL;
    case ScalarType.FIXED32:
      return K_FIXED32;
    case ScalarType.SFIXED32:
      return K_SFIXED32;
    case ScalarType.FLOAT:
      return K_FLOAT;
    case ScalarType.FIXED64:
      return K_FIXED64;
    case ScalarType.SFIXED64:
      return K_SFIXED64;
    case ScalarType.DOUBLE:
      return K_DOUBLE;
    case ScalarType.STRING:
      return K_STRING;
    case ScalarType.BYTES:
      return K_BYTES;
  }
}

function wireOf(kind: number): number {
  if (kind === K_FIXED32 || kind === K_SFIXED32 || kind === K_FLOAT) return WIRE_I32;
  if (kind === K_FIXED64 || kind === K_SFIXED64 || kind === K_DOUBLE) return WIRE_I64;
  if (kind === K_STRING || kind === K_BYTES || kind === K_MESSAGE || kind === K_MAP) return WIRE_LEN;
  return WIRE_VARINT;
}

function zeroOf(kind: number, longAsString: boolean): unknown {
  if (kind === K_STRING) return '';
  if (kind === K_BOOL) return false;
  if (kind === K_UINT64 || kind === K_INT64 || kind === K_SINT64 || kind === K_FIXED64 || kind === K_SFIXED64)
    return longAsString ? '0' : 0n;
  return 0;
}

const SEARCH_KEYS = SEARCH_FIELD_PATHS.map((p) => p.map((f) => f.name).join('.'));

function unsupported(f: DescField | DescMessage, what: string): Error {
  return new Error(`the batch reader does not support ${what} (${f.toString()})`);
}

/**
 * planFor builds the plan of `desc` at `path` inside an Event ('' for the Event itself), or with
 * `path` null where nothing below is searched (those plans are shared, which also ends recursion:
 * Process.parent is a Process).
 */
function planFor(desc: DescMessage, path: string | null): MessagePlan {
  if (path === null) {
    const known = slotless.get(desc);
    if (known) return known;
  }
  const plan = new MessagePlan(desc.typeName);
  if (path === null) slotless.set(desc, plan);
  const template: Obj = { $typeName: desc.typeName };
  const lists: string[] = [];
  const maps: string[] = [];
  const bytes: string[] = [];
  for (const f of desc.fields) {
    const here = path === null ? null : path === '' ? f.name : `${path}.${f.name}`;
    const label = `${desc.typeName}.${f.name}`;
    const oneof = f.oneof ? f.oneof.localName : null;
    let fp: FieldPlan;
    switch (f.fieldKind) {
      case 'scalar': {
        const kind = kindOf(f.scalar);
        const slot = here === null ? -1 : SEARCH_KEYS.indexOf(here);
        fp = new FieldPlan(
          label,
          f.localName,
          kind,
          wireOf(kind),
          false,
          false,
          oneof,
          slot,
          roleOf(f, path),
          f.longAsString,
        );
        if (!oneof) {
          template[f.localName] = zeroOf(kind, f.longAsString);
          if (kind === K_BYTES) bytes.push(f.localName);
        }
        break;
      }
      case 'enum':
        if (!f.enum.open) throw unsupported(f, 'closed enums');
        fp = new FieldPlan(label, f.localName, K_INT32, WIRE_VARINT, false, false, oneof, -1, R_NONE, false);
        if (!oneof) template[f.localName] = f.enum.values[0]?.number ?? 0;
        break;
      case 'message':
        if (f.delimitedEncoding) throw unsupported(f, 'group encoding');
        fp = new FieldPlan(label, f.localName, K_MESSAGE, WIRE_LEN, false, false, oneof, -1, R_NONE, false);
        fp.child = planFor(f.message, childPath(here));
        // Left out while unset, as protobuf-es leaves it out: decoded events equal its own.
        break;
      case 'list': {
        lists.push(f.localName);
        template[f.localName] = undefined;
        if (f.listKind === 'message') {
          if (f.delimitedEncoding) throw unsupported(f, 'group encoding');
          fp = new FieldPlan(label, f.localName, K_MESSAGE, WIRE_LEN, true, false, null, -1, R_NONE, false);
          fp.child = planFor(f.message, childPath(here));
          if (desc === EventBatchSchema && f.message === EventSchema)
            fp = withRole(fp, R_EVENT, planFor(EventSchema, ''));
        } else {
          if (f.listKind === 'enum' && !f.enum.open) throw unsupported(f, 'closed enums');
          const kind = f.listKind === 'enum' ? K_INT32 : kindOf(f.scalar);
          const packable = kind !== K_STRING && kind !== K_BYTES;
          const las = f.listKind === 'scalar' && f.longAsString;
          fp = new FieldPlan(label, f.localName, kind, wireOf(kind), true, packable, null, -1, R_NONE, las);
        }
        break;
      }
      case 'map': {
        maps.push(f.localName);
        template[f.localName] = undefined;
        fp = new FieldPlan(label, f.localName, K_MAP, WIRE_LEN, false, false, null, -1, R_NONE, false);
        fp.child = mapEntryPlan(f);
        break;
      }
    }
    plan.fields[f.number] = fp;
  }
  for (const o of desc.oneofs) template[o.localName] = { case: undefined };
  plan.make = makerOf(
    template,
    lists,
    maps,
    bytes,
    desc.oneofs.map((o) => o.localName),
  );
  return plan;
}

/**
 * makerOf returns a function that creates a message with these defaults. It is compiled from an
 * object literal (names quoted with JSON.stringify, values only zeros): each message type then
 * gets its own allocation site and hidden class, as hand-written code would, where one generic
 * copy shared by all types is many times slower (its call sites turn megamorphic).
 */
function makerOf(
  template: Obj,
  lists: string[],
  maps: string[],
  bytes: string[],
  oneofs: string[],
): () => Obj {
  const props: string[] = [];
  for (const [k, v] of Object.entries(template)) {
    let lit: string;
    if (lists.includes(k)) lit = '[]';
    else if (maps.includes(k)) lit = '{}';
    else if (bytes.includes(k)) lit = 'new Uint8Array(0)';
    else if (oneofs.includes(k)) lit = '{ case: undefined }';
    else if (typeof v === 'bigint') lit = `${v}n`;
    else if (v === undefined) throw new Error(`no default for ${k}`);
    else lit = JSON.stringify(v);
    props.push(`${JSON.stringify(k)}: ${lit}`);
  }
  return new Function(`return function make() { return { ${props.join(', ')} }; };`)() as () => Obj;
}

/** childPath is the path to pass down, or null when no search field lies below `here`. */
function childPath(here: string | null): string | null {
  if (here === null) return null;
  return SEARCH_KEYS.some((k) => k.startsWith(`${here}.`)) ? here : null;
}

function roleOf(f: DescField, path: string | null): number {
  if (path !== '' || EventSchema.typeName !== f.parent.typeName) return R_NONE;
  const want = (scalar: ScalarType, role: number) => {
    if (f.fieldKind !== 'scalar' || f.scalar !== scalar || f.oneof)
      throw new Error(
        `the batch index reads ${f.toString()} as ${ScalarType[scalar]}; the schema changed its type`,
      );
    return role;
  };
  if (f === EventSchema.field.classUid) return want(ScalarType.UINT32, R_CLASS);
  if (f === EventSchema.field.activityId) return want(ScalarType.UINT32, R_ACTIVITY);
  if (f === EventSchema.field.timeMs) return want(ScalarType.INT64, R_TIME);
  return R_NONE;
}

function withRole(fp: FieldPlan, role: number, child: MessagePlan): FieldPlan {
  const out = new FieldPlan(
    fp.label,
    fp.name,
    fp.kind,
    fp.wire,
    fp.list,
    fp.packable,
    fp.oneof,
    fp.slot,
    role,
    fp.longAsString,
  );
  out.child = child;
  return out;
}

/** MAP_KEY and MAP_VALUE are the properties of a decoded map entry. */
export const MAP_KEY = 'key';
export const MAP_VALUE = 'value';

/** mapEntryPlan reads a map entry as a message with the key in field 1 and the value in field 2. */
function mapEntryPlan(f: DescField & { fieldKind: 'map' }): MessagePlan {
  const plan = new MessagePlan(`${f.parent.typeName}.${f.name} entry`);
  const keyKind = kindOf(f.mapKey);
  plan.fields[1] = new FieldPlan(
    `${plan.typeName}.key`,
    MAP_KEY,
    keyKind,
    wireOf(keyKind),
    false,
    false,
    null,
    -1,
    R_NONE,
    false,
  );
  let value: FieldPlan;
  let valueZero: () => unknown;
  if (f.mapKind === 'message') {
    value = new FieldPlan(
      `${plan.typeName}.value`,
      MAP_VALUE,
      K_MESSAGE,
      WIRE_LEN,
      false,
      false,
      null,
      -1,
      R_NONE,
      false,
    );
    value.child = planFor(f.message, null);
    const child = value.child;
    valueZero = () => child.make();
  } else if (f.mapKind === 'enum') {
    if (!f.enum.open) throw unsupported(f, 'closed enums');
    value = new FieldPlan(
      `${plan.typeName}.value`,
      MAP_VALUE,
      K_INT32,
      WIRE_VARINT,
      false,
      false,
      null,
      -1,
      R_NONE,
      false,
    );
    const zero = f.enum.values[0]?.number ?? 0;
    valueZero = () => zero;
  } else {
    const kind = kindOf(f.scalar);
    value = new FieldPlan(
      `${plan.typeName}.value`,
      MAP_VALUE,
      kind,
      wireOf(kind),
      false,
      false,
      null,
      -1,
      R_NONE,
      false,
    );
    valueZero = kind === K_BYTES ? () => new Uint8Array(0) : () => zeroOf(kind, false);
  }
  plan.fields[2] = value;
  const keyZero = zeroOf(keyKind, false);
  plan.make = () => ({ [MAP_KEY]: keyZero, [MAP_VALUE]: undefined });
  mapValueZero.set(plan, valueZero);
  return plan;
}

/** The default value of each map entry plan's value (an entry without field 2). */
export const mapValueZero = new Map<MessagePlan, () => unknown>();

const slotless = new Map<DescMessage, MessagePlan>();

/** BATCH_PLAN reads an EventBatch; its `events` field has the role R_EVENT. */
export const BATCH_PLAN: MessagePlan = planFor(EventBatchSchema, null);

/** The number of search slots an event has (one per SEARCH_FIELDS entry). */
export const SLOT_COUNT = SEARCH_KEYS.length;
