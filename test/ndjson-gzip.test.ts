import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { decodeNdjsonGzip, encodeNdjson, encodeNdjsonGzip, ndjsonLine } from '#lake/ndjson-gzip.ts';

const nasty = [
  'line one\nline two\r\nline three',
  'quotes " and \' and `backticks`',
  'backslash \\ and \\n literally',
  'unicode: é ñ ü 中文 日本語 한국어 🚀👩‍💻',
  'separators \u2028 and \u2029',
  'control \u0000 \u001f and tab\t',
  '{"looks":"like json"}',
  '',
];

describe('gzip NDJSON', () => {
  it('round-trips nasty strings, one record per line', async () => {
    const records = nasty.map((text, index) => ({ id: `C${index}`, messages: [{ text }], nested: { deep: [text] } }));
    const body = await encodeNdjsonGzip(records);
    const lines = gunzipSync(body).toString('utf8').split('\n');
    expect(lines).toHaveLength(records.length + 1);
    expect(lines.at(-1)).toBe('');
    expect(await decodeNdjsonGzip(body)).toEqual(records);
  });

  it('appends fields to every record without changing the others', async () => {
    const records = [{ id: 'A', text: 'a } "quoted" {' }, {}, { id: 'B', nested: { x: [1, { y: 2 }] } }];
    const body = await encodeNdjsonGzip(records, { _run_id: 'run-1', _page: 3 });
    expect(await decodeNdjsonGzip(body)).toEqual([
      { id: 'A', text: 'a } "quoted" {', _run_id: 'run-1', _page: 3 },
      { _run_id: 'run-1', _page: 3 },
      { id: 'B', nested: { x: [1, { y: 2 }] }, _run_id: 'run-1', _page: 3 },
    ]);
    expect(await decodeNdjsonGzip(await encodeNdjsonGzip([{}, { a: 1 }]))).toEqual([{}, { a: 1 }]);
  });

  it('writes an empty page as an empty file', async () => {
    expect(gunzipSync(await encodeNdjsonGzip([])).byteLength).toBe(0);
    expect(await decodeNdjsonGzip(await encodeNdjsonGzip([]))).toEqual([]);
  });

  it('writes each line once as UTF-8, byte for byte the text of its lines (non-Latin-1 text, empty records, nothing appended)', () => {
    const records = [...nasty.map((text, index) => ({ id: `C${index}`, text })), {}, { id: 'Z' }];
    const appendedSets: Record<string, string | number>[] = [
      { _run_id: 'run-ż', _archived_at: '2026-01-01T00:00:00.000Z', _page: 7 },
      {},
    ];
    for (const appended of appendedSets) {
      const { text, ends } = encodeNdjson(records, appended);
      const lines = records.map((_, index) => ndjsonLine(text, ends, index));
      expect(text.equals(Buffer.from(`${lines.join('\n')}\n`, 'utf8'))).toBe(true);
      expect(lines.map((line) => JSON.parse(line))).toEqual(records.map((record) => ({ ...record, ...appended })));
    }
    expect(encodeNdjson([]).text.byteLength).toBe(0);
  });
});
