import { MAPPING, NOT_COLLECTED } from './mapping.js';

/**
 * renderMappingTable renders the mapping table as Markdown, for docs/detection.md (a test
 * checks that the document holds exactly this text, so code and doc cannot drift apart).
 */
export function renderMappingTable(): string {
  const rows = ['| log source | Palisade events | fields | keyword search in |', '|---|---|---|---|'];
  for (const d of MAPPING) {
    const ls = d.category ? `category: ${d.category}` : `service: ${d.service}`;
    const fields = d.fields
      .map((f) => f.name)
      .filter((n) => !/^a([1-9]|[12]\d|3[01])$/.test(n))
      .map((n) => (n === 'a0' ? 'a0..a31' : n))
      .join(', ');
    const kw = d.keywords
      .filter((k) => !/^a\d+$/.test(k))
      .concat(d.keywords.some((k) => /^a\d+$/.test(k)) ? ['a0..a31'] : []);
    const tags = [d.palisade ? '(Palisade)' : '', d.generic ? '(also `product: linux` alone)' : '']
      .filter(Boolean)
      .join(' ');
    rows.push(
      `| ${ls}${tags ? ` ${tags}` : ''} | ${d.events}${d.note ? `; ${d.note}` : ''} | ${fields} | ${kw.join(', ')} |`,
    );
  }
  rows.push('', '| not collected | reason |', '|---|---|');
  for (const n of NOT_COLLECTED)
    rows.push(`| ${n.category ? `category: ${n.category}` : `service: ${n.service}`} | ${n.reason} |`);
  return rows.join('\n');
}
