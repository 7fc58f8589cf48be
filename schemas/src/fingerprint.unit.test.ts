import { parsingCanonicalForm } from './canonical';
import { EMPTY_FINGERPRINT, fingerprintOf, rabin64 } from './fingerprint';

/**
 * Apache Avro's own test values (share/test/data/schema-tests.txt, cross-checked there against
 * Java's SchemaNormalization): input schema, its Parsing Canonical Form, and, where given, the
 * 64-bit fingerprint as Java's signed long.
 */
const AVRO_CASES: [string, string, string, bigint | undefined][] = [
  ['000 null', '"null"', '"null"', 7195948357588979594n],
  ['001', '{"type":"null"}', '"null"', undefined],
  ['002 boolean', '"boolean"', '"boolean"', -6970731678124411036n],
  ['003', '{"type":"boolean"}', '"boolean"', undefined],
  ['004 int', '"int"', '"int"', 8247732601305521295n],
  ['005', '{"type":"int"}', '"int"', undefined],
  ['006 long', '"long"', '"long"', -3434872931120570953n],
  ['007', '{"type":"long"}', '"long"', undefined],
  ['008 float', '"float"', '"float"', 5583340709985441680n],
  ['009', '{"type":"float"}', '"float"', undefined],
  ['010 double', '"double"', '"double"', -8181574048448539266n],
  ['011', '{"type":"double"}', '"double"', undefined],
  ['012 bytes', '"bytes"', '"bytes"', 5746618253357095269n],
  ['013', '{"type":"bytes"}', '"bytes"', undefined],
  ['014 string', '"string"', '"string"', -8142146995180207161n],
  ['015', '{"type":"string"}', '"string"', undefined],
  ['016 empty union', '[  ]', '[]', -1241056759729112623n],
  ['017 union', '[ "int"  ]', '["int"]', -5232228896498058493n],
  ['018 union', '[ "int" , {"type":"boolean"} ]', '["int","boolean"]', 5392556393470105090n],
  ['019 record', '{"fields":[], "type":"record", "name":"foo"}', '{"name":"foo","type":"record","fields":[]}', -4824392279771201922n],
  [
    '020 namespace',
    '{"fields":[], "type":"record", "name":"foo", "namespace":"x.y"}',
    '{"name":"x.y.foo","type":"record","fields":[]}',
    5916914534497305771n,
  ],
  [
    '021 full name wins',
    '{"fields":[], "type":"record", "name":"a.b.foo", "namespace":"x.y"}',
    '{"name":"a.b.foo","type":"record","fields":[]}',
    -4616218487480524110n,
  ],
  [
    '022 doc',
    '{"fields":[], "type":"record", "name":"foo", "doc":"Useful info"}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '023 aliases',
    '{"fields":[], "type":"record", "name":"foo", "aliases":["foo","bar"]}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '024 doc and aliases',
    '{"fields":[], "type":"record", "name":"foo", "doc":"foo", "aliases":["foo","bar"]}',
    '{"name":"foo","type":"record","fields":[]}',
    -4824392279771201922n,
  ],
  [
    '025 field',
    '{"fields":[{"type":{"type":"boolean"}, "name":"f1"}], "type":"record", "name":"foo"}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
    7843277075252814651n,
  ],
  [
    '026 field attributes',
    '{ "fields":[{"type":"boolean", "aliases":[], "name":"f1", "default":"true"},\n {"order":"descending","name":"f2","doc":"Hello","type":"int"}],\n "type":"record", "name":"foo"\n}',
    '{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"},{"name":"f2","type":"int"}]}',
    -4860222112080293046n,
  ],
  ['027 enum', '{"type":"enum", "name":"foo", "symbols":["A1"]}', '{"name":"foo","type":"enum","symbols":["A1"]}', -6342190197741309591n],
  [
    '028 enum namespace',
    '{"namespace":"x.y.z", "type":"enum", "name":"foo", "doc":"foo bar", "symbols":["A1", "A2"]}',
    '{"name":"x.y.z.foo","type":"enum","symbols":["A1","A2"]}',
    -4448647247586288245n,
  ],
  ['029 fixed', '{"name":"foo","type":"fixed","size":15}', '{"name":"foo","type":"fixed","size":15}', 1756455273707447556n],
  [
    '030 fixed namespace',
    '{"namespace":"x.y.z", "type":"fixed", "name":"foo", "doc":"foo bar", "size":32}',
    '{"name":"x.y.z.foo","type":"fixed","size":32}',
    -3064184465700546786n,
  ],
  ['031 array', '{ "items":{"type":"null"}, "type":"array"}', '{"type":"array","items":"null"}', -589620603366471059n],
  ['032 map', '{ "values":"string", "type":"map"}', '{"type":"map","values":"string"}', -8732877298790414990n],
  [
    '033 recursive',
    '{"name":"PigValue","type":"record",\n "fields":[{"name":"value", "type":["null", "int", "long", "PigValue"]}]}',
    '{"name":"PigValue","type":"record","fields":[{"name":"value","type":["null","int","long","PigValue"]}]}',
    -1759257747318642341n,
  ],
];

describe('Parsing Canonical Form and CRC-64-AVRO, against Apache Avro test values', () => {
  it.each(AVRO_CASES)('%s', (_name, input, canonical, fingerprint) => {
    expect(parsingCanonicalForm(JSON.parse(input))).toBe(canonical);
    if (fingerprint !== undefined) expect(fingerprintOf(JSON.parse(input)).long).toBe(fingerprint);
  });

  it('starts from the specification value for the empty string', () => {
    expect(rabin64(new Uint8Array())).toBe(EMPTY_FINGERPRINT);
    expect(EMPTY_FINGERPRINT).toBe(0xc15d213aa4d7a795n);
  });

  it('ignores logical types, so a decimal fingerprints like plain bytes (why compat.ts compares them)', () => {
    const decimal = { type: 'bytes', logicalType: 'decimal', precision: 12, scale: 2 };
    expect(parsingCanonicalForm(decimal)).toBe('"bytes"');
    expect(fingerprintOf(decimal).long).toBe(5746618253357095269n);
    const micros = { type: 'long', logicalType: 'timestamp-micros' };
    expect(fingerprintOf(micros).long).toBe(-3434872931120570953n);
  });

  it('writes nested named types in full once, then by full name, inheriting namespaces', () => {
    const schema = {
      type: 'record',
      name: 'Envelope',
      namespace: 'a.b',
      fields: [
        { name: 'before', type: ['null', { type: 'record', name: 'Row', fields: [{ name: 'id', type: 'string' }] }], default: null },
        { name: 'after', type: ['null', 'Row'] },
        { name: 'op', type: { type: 'enum', name: 'Op', namespace: 'c', symbols: ['c'] } },
      ],
    };
    expect(parsingCanonicalForm(schema)).toBe(
      '{"name":"a.b.Envelope","type":"record","fields":[' +
        '{"name":"before","type":["null",{"name":"a.b.Row","type":"record","fields":[{"name":"id","type":"string"}]}]},' +
        '{"name":"after","type":["null","a.b.Row"]},' +
        '{"name":"op","type":{"name":"c.Op","type":"enum","symbols":["c"]}}]}',
    );
  });

  it('lays the 8 fingerprint bytes out little-endian, as the single-object encoding writes them', () => {
    const fp = fingerprintOf('int');
    expect(fp.bytes.readBigInt64LE(0)).toBe(8247732601305521295n);
    expect(fp.hex).toBe(fp.bytes.toString('hex'));
    expect(fp.hex).toHaveLength(16);
  });
});
