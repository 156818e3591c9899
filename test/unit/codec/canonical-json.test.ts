/** The canonical JSON writer (PROTOCOL.md §1.3, §1.4.2, §1.4.3). */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  compareUtf8,
  formatFloat,
  fromPlainJson,
  parseJson,
  writeCanonical,
  writePretty,
  type JsonValue,
} from '../../../src/codec/index.js'
import { egregoreError } from '../../helpers/vectors.js'

describe('formatFloat (§1.4.3)', () => {
  const table: readonly [number, string][] = [
    // Rule 1: zeros.
    [0, '0.0'],
    [-0, '-0.0'],
    // 0 ≤ k and kk ≤ 16: digits, zeros, ".0".
    [1, '1.0'],
    [1.5e3, '1500.0'],
    [100, '100.0'],
    [1e15, '1000000000000000.0'],
    [9007199254740992, '9007199254740992.0'],
    // 0 < kk ≤ 16: a point inside the digits.
    [2.5, '2.5'],
    [123456789012345.6, '123456789012345.6'],
    [1.3, '1.3'],
    [12345678.9, '12345678.9'],
    // −5 < kk ≤ 0: "0.", zeros, digits.
    [0.1, '0.1'],
    [0.00001, '0.00001'],
    [2.5e-5, '0.000025'],
    [0.30000000000000004, '0.30000000000000004'],
    // Scientific, one digit.
    [1e-7, '1e-7'],
    [1e-6, '1e-6'],
    [1e16, '1e+16'],
    [1e21, '1e+21'],
    [5e-324, '5e-324'],
    // Scientific, several digits.
    [1.25e-6, '1.25e-6'],
    [1.2345e20, '1.2345e+20'],
    [1.5e300, '1.5e+300'],
    [1.7976931348623157e308, '1.7976931348623157e+308'],
    [2.2250738585072014e-308, '2.2250738585072014e-308'],
    [18446744073709551616, '1.8446744073709552e+19'],
    // Negative values take a '-' prefix.
    [-1e21, '-1e+21'],
    [-1.5e-10, '-1.5e-10'],
    [-2.5, '-2.5'],
    [-1500, '-1500.0'],
    [-9223372036854775809, '-9.223372036854776e+18'],
  ]
  for (const [value, text] of table) {
    test(`writes ${String(value)} as ${text}`, () => {
      assert.equal(formatFloat(value), text)
    })
  }
  test('the exponent boundary: 1e15 plain, 1e16 scientific; 1e-5 plain, 1e-6 scientific', () => {
    assert.equal(formatFloat(9.999999999999998e15), '9999999999999998.0')
    assert.equal(formatFloat(1.0000000000000002e16), '1.0000000000000002e+16')
    assert.equal(formatFloat(9.9e-6), '9.9e-6')
    assert.equal(formatFloat(1.5e-5), '0.000015')
  })
  test('rejects NaN and infinities with INVALID_CONTENT', () => {
    for (const x of [NaN, Infinity, -Infinity]) {
      assert.throws(() => formatFloat(x), egregoreError('INVALID_CONTENT'))
    }
  })
})

describe('compareUtf8 (§1.3 key order)', () => {
  const sign = (n: number): number => Math.sign(n)
  test('U+FFFF sorts before U+1F600 (UTF-16 order would say the opposite)', () => {
    assert.ok(compareUtf8('\uffff', '\u{1F600}') < 0)
    assert.ok(compareUtf8('\u{1F600}', '\uffff') > 0)
    assert.ok('\uffff' > '\u{1F600}', 'JavaScript default order differs here')
  })
  test('U+E000 sorts after U+D7FF and before U+10000', () => {
    assert.ok(compareUtf8('\ud7ff', '\ue000') < 0)
    assert.ok(compareUtf8('\ue000', '\u{10000}') < 0)
  })
  test('a prefix sorts first and equal strings compare equal', () => {
    assert.ok(compareUtf8('a', 'aa') < 0)
    assert.ok(compareUtf8('', 'a') < 0)
    assert.equal(compareUtf8('abc', 'abc'), 0)
  })
  test('agrees with byte-wise comparison of the UTF-8 encodings', () => {
    const samples = [
      '',
      'a',
      'B',
      'Z',
      '_',
      'aa',
      'é',
      '\u007f',
      '\u0080',
      '\u07ff',
      '\u0800',
      '\uffff',
      '\u{10000}',
      '\u{1F600}',
      '\u{10FFFF}',
      'a\u{1F600}',
      'a\uffff',
      '\ue000',
      '\ud7ff',
    ]
    for (const a of samples) {
      for (const b of samples) {
        const bytes = sign(Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8')))
        assert.equal(sign(compareUtf8(a, b)), bytes, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`)
      }
    }
  })
})

describe('writeCanonical strings (§1.3)', () => {
  const table: readonly [string, string][] = [
    ['"', '"\\""'],
    ['\\', '"\\\\"'],
    ['\b\t\n\f\r', '"\\b\\t\\n\\f\\r"'],
    ['\u0000\u0001\u000b\u001f', '"\\u0000\\u0001\\u000b\\u001f"'],
    ['\u001a', '"\\u001a"'],
    ['/', '"/"'],
    ['\u007f', '"\u007f"'],
    ['é', '"é"'],
    ['\u2028\u2029', '"\u2028\u2029"'],
    ['\u{1F600}', '"\u{1F600}"'],
    ["'<>&", '"\'<>&"'],
  ]
  for (const [value, text] of table) {
    test(`escapes ${JSON.stringify(value)} as ${text}`, () => {
      assert.equal(writeCanonical(value), text)
    })
  }
  test('escapes use lowercase hex', () => {
    assert.equal(writeCanonical('\u001b\u001c'), '"\\u001b\\u001c"')
  })
  test('parsed escapes are decoded and written canonically', () => {
    assert.equal(
      writeCanonical(parseJson('"\\/\\u00e9\\u0041\\ud83d\\ude00\\u001F"')),
      '"/éA😀\\u001f"',
    )
  })
  test('object keys are escaped like strings', () => {
    assert.equal(writeCanonical(parseJson('{"k\\n\\u0001":1}')), '{"k\\n\\u0001":1}')
  })
  test('a lone surrogate in a string or key is INVALID_CONTENT', () => {
    assert.throws(() => writeCanonical('\ud800'), egregoreError('INVALID_CONTENT'))
    assert.throws(
      () => writeCanonical(fromPlainJson({ '\udc00': 1 })),
      egregoreError('INVALID_CONTENT'),
    )
  })
})

describe('writeCanonical values', () => {
  test('integers are written exactly (§1.4.2)', () => {
    assert.equal(writeCanonical(18446744073709551615n), '18446744073709551615')
    assert.equal(writeCanonical(-9223372036854775808n), '-9223372036854775808')
    assert.equal(writeCanonical(9007199254740993n), '9007199254740993')
    assert.equal(writeCanonical(0n), '0')
  })
  test('floats keep a float spelling', () => {
    assert.equal(writeCanonical(1), '1.0')
    assert.equal(writeCanonical(-0), '-0.0')
  })
  test('literals', () => {
    assert.equal(writeCanonical(null), 'null')
    assert.equal(writeCanonical(true), 'true')
    assert.equal(writeCanonical(false), 'false')
  })
  test('objects are sorted by UTF-8 key bytes at every depth; arrays keep their order', () => {
    const text =
      '{"type":"k","b":1,"a":2,"B":3,"é":4,"aa":5,"_":6,"Z":7,"\\uffff":9,"😀":10,"n":{"z":[3,{"b":null,"a":true}],"y":false}}'
    assert.equal(
      writeCanonical(parseJson(text)),
      '{"B":3,"Z":7,"_":6,"a":2,"aa":5,"b":1,"n":{"y":false,"z":[3,{"a":true,"b":null}]},"type":"k","é":4,"\uffff":9,"😀":10}',
    )
  })
  test('empty containers', () => {
    assert.equal(writeCanonical(parseJson(' { } ')), '{}')
    assert.equal(writeCanonical(parseJson(' [ ] ')), '[]')
  })
  test('accepts plain objects as well as null-prototype ones', () => {
    const plain: Record<string, JsonValue> = { b: 1n, a: [true] }
    assert.equal(writeCanonical(plain), '{"a":[true],"b":1}')
  })
  test('rejects class instances, functions and undefined with INVALID_CONTENT', () => {
    const invalid: unknown[] = [new Date(0), new Map(), () => 1, undefined, Symbol('s')]
    for (const v of invalid) {
      assert.throws(
        () => writeCanonical(v as JsonValue),
        egregoreError('INVALID_CONTENT'),
        String(v),
      )
    }
  })
  test('skips object members whose value is undefined', () => {
    const obj = { a: 1n, b: undefined } as unknown as JsonValue
    assert.equal(writeCanonical(obj), '{"a":1}')
  })
})

describe('fromPlainJson', () => {
  test('safe integers become integers, other numbers floats', () => {
    assert.equal(
      writeCanonical(fromPlainJson({ a: 1, b: 1.5, c: -0, d: 2 ** 53, e: 1e300 })),
      '{"a":1,"b":1.5,"c":-0.0,"d":9007199254740992.0,"e":1e+300}',
    )
  })
  test('keeps strings, booleans, null, bigints and nesting', () => {
    assert.equal(
      writeCanonical(fromPlainJson([null, true, 's', 5n, { z: [], a: {} }])),
      '[null,true,"s",5,{"a":{},"z":[]}]',
    )
  })
  test('drops undefined object members and rejects functions', () => {
    assert.equal(writeCanonical(fromPlainJson({ a: undefined, b: 'x' })), '{"b":"x"}')
    assert.throws(() => fromPlainJson(() => 1), egregoreError('INVALID_CONTENT'))
  })
})

describe('writePretty', () => {
  test('indents by two spaces with canonical scalars and keeps key order', () => {
    const v = parseJson('{"b":[1,1.0,"x"],"a":{},"c":[],"d":{"e":null}}')
    assert.equal(
      writePretty(v),
      '{\n  "b": [\n    1,\n    1.0,\n    "x"\n  ],\n  "a": {},\n  "c": [],\n  "d": {\n    "e": null\n  }\n}',
    )
  })
  test('scalars print as their canonical form', () => {
    assert.equal(writePretty(-0), '-0.0')
    assert.equal(writePretty(18446744073709551615n), '18446744073709551615')
  })
})
