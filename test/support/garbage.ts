// Generators of hostile frames for the fuzz tests of both sides (fast-check), and a fixed corpus
// of malformed frames. Most generated frames are plausible (right type character, wrong body),
// since purely random strings rarely get past the first check.
import fc from 'fast-check'
import type { Frame } from '../../src/protocol/frames'

/** Numbers as a peer might write them, valid or not. */
const number = fc.oneof(
  fc.nat({ max: 50 }).map(String),
  fc.constantFrom(
    '',
    '-1',
    '1.5',
    '1e3',
    '0x10',
    ' 1',
    '1 ',
    '9007199254740993',
    '999999999999999',
    '1234567890123456',
    'NaN',
    'Infinity',
    '٣',
  ),
)

/** Strings with what breaks parsers: quotes, escapes, lone surrogates, NUL, long runs. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\ud800', '\udc00x', '"', '\\', '\u0000', '[', ']', '{', '}', ',', '😀', 'x'.repeat(5000)),
)

/** JSON values that are not arrays of strings, and broken JSON. */
const badJson = fc.oneof(
  fc.json({ maxDepth: 3 }),
  fc.constantFrom(
    '[',
    '["a"',
    '["a",]',
    '[1,2]',
    '[null]',
    '[["a"]]',
    '[{}]',
    '{}',
    'null',
    '"a"',
    '[]',
    '["\\ud800"]',
    '["a"]x',
    ' ["a"]',
  ),
)

/** One frame a hostile or broken peer might send (either side; the type characters overlap). */
export const anyFrame: fc.Arbitrary<Frame> = fc.oneof(
  nasty.map((s) => 'm' + s),
  fc.array(nasty, { maxLength: 5 }).map((a) => 'M' + JSON.stringify(a)),
  badJson.map((j) => 'M' + j),
  number.map((n) => 's' + n),
  number.map((n) => 'a' + n),
  number.map((n) => 'u' + n),
  nasty.map((s) => 'p' + s),
  nasty.map((s) => 'q' + s),
  fc.tuple(number, nasty).map(([n, s]) => 'c' + n + ' ' + s),
  nasty.map((s) => 'e' + s),
  fc.oneof(badJson, fc.json()).map((j) => 'o' + j),
  fc.tuple(fc.string({ minLength: 1, maxLength: 1 }), nasty).map(([c, s]) => c + s),
  fc.constant(''),
  fc.uint8Array({ maxLength: 64 }),
)

/** A run of frames, mostly plausible, sometimes led by a proper sequence marker. */
export const frameRun = fc
  .tuple(fc.boolean(), fc.array(anyFrame, { minLength: 1, maxLength: 12 }))
  .map(([seq, fs]) => (seq ? ['s1', ...fs] : fs))

/** Malformed frames worth trying every time, on both sides. */
export const CORPUS: Frame[] = [
  '',
  'x',
  'Z garbage',
  'm',
  'M',
  'M[',
  'M[1,2]',
  'M{}',
  'M["a",',
  'M[["a"]]',
  'Mnull',
  's',
  's-1',
  's1.5',
  'sabc',
  's1234567890123456',
  'a',
  'a-1',
  'a99999999999999999999',
  'u',
  'u0',
  'p',
  'q',
  'c',
  'cabc',
  'c1000',
  'c99999 x',
  'e',
  'o',
  'o{}',
  'onull',
  'o[]',
  'o"x"',
  'o{"v":1,"sid":5,"ack":0,"hb":1,"max":1}',
  'o{"v":1,"sid":"x","ack":-1,"hb":1,"max":1}',
  'o{"v":1,"sid":"x","ack":0,"hb":1e308,"max":1}',
  '\ud800',
  'm\udc00',
  'M["\\ud800"]',
  new Uint8Array(0),
  new Uint8Array([0, 1, 2]),
]
