import type { DescField, DescMessage } from '@bufbuild/protobuf';
import { type Event, EventSchema } from '../gen/palisade/v1/event_pb.js';

/**
 * SEARCH_FIELDS is the one list of what a substring search over an event reads: string fields of
 * `Event`, by their .proto path, in the order their values are joined. `searchText` and the
 * batch indexer (`indexEventBatch`) are both derived from it; a path that is not a singular string
 * field of the schema fails at module load.
 */
export const SEARCH_FIELDS: readonly string[] = [
  'process.cmd_line',
  'process.path',
  'process.cwd',
  'actor_process.cmd_line',
  'actor_process.path',
  'file.path',
  'file_result.path',
  'query.hostname',
  'user.name',
  'dst_endpoint.ip',
  'dst_endpoint.hostname',
  'raw_data',
  'process.file_sha256',
  'process.container_id',
  'process.cgroup_path',
];

/** resolveSearchField turns a path into the fields it walks through, checking it against the schema. */
function resolveSearchField(path: string): DescField[] {
  const out: DescField[] = [];
  let msg: DescMessage | undefined = EventSchema;
  for (const name of path.split('.')) {
    const f: DescField | undefined = msg?.fields.find((x) => x.name === name);
    if (!f) throw new Error(`SEARCH_FIELDS: ${path}: no field ${name} in ${msg?.typeName ?? 'a scalar'}`);
    out.push(f);
    msg = f.fieldKind === 'message' ? f.message : undefined;
  }
  const leaf = out[out.length - 1]!;
  if (leaf.fieldKind !== 'scalar' || leaf.scalar !== 9 /* STRING */ || leaf.oneof)
    throw new Error(`SEARCH_FIELDS: ${path} is not a singular string field`);
  return out;
}

/** SEARCH_FIELD_PATHS holds each search field as the chain of fields that leads to it. */
export const SEARCH_FIELD_PATHS: readonly (readonly DescField[])[] = SEARCH_FIELDS.map(resolveSearchField);

type Getter = (e: Event) => unknown;

function getter(path: readonly DescField[]): Getter {
  const names = path.map((f) => f.localName);
  if (names.length === 1) {
    const [a] = names as [string];
    return (e) => (e as unknown as Record<string, unknown>)[a];
  }
  if (names.length === 2) {
    const [a, b] = names as [string, string];
    return (e) => {
      const m = (e as unknown as Record<string, Record<string, unknown> | undefined>)[a];
      return m === undefined ? undefined : m[b];
    };
  }
  return (e) => {
    let v: unknown = e;
    for (const n of names) {
      if (v === undefined || v === null) return undefined;
      v = (v as Record<string, unknown>)[n];
    }
    return v;
  };
}

const GETTERS: readonly Getter[] = SEARCH_FIELD_PATHS.map(getter);

/** searchText is what a substring search over an event looks at: the non-empty SEARCH_FIELDS, joined by newlines. */
export function searchText(e: Event): string {
  let out = '';
  for (let i = 0; i < GETTERS.length; i++) {
    const v = GETTERS[i]!(e);
    if (typeof v !== 'string' || v === '') continue;
    out = out === '' ? v : `${out}\n${v}`;
  }
  return out;
}
