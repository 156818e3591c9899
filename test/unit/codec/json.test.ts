/** The lossless strict JSON parser (PROTOCOL.md §1.3, §1.4.1): behaviour table and hostile sweeps. */
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import {
  MAX_JSON_DEPTH,
  parseJson,
  parseJsonBytes,
  writeCanonical,
  type JsonObject,
  type JsonValue,
} from '../../../src/codec/index.js'
import { EgregoreError } from '../../../src/errors.js'
import { egregoreError } from '../../helpers/vectors.js'

const rejects = egregoreError('DECODE_ERROR')

function asObject(v: JsonValue): JsonObject {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), 'expected an object')
  return v
}

describe('number classification (§1.4.1)', () => {
  const integers: readonly [string, bigint][] = [
    ['1', 1n],
    ['0', 0n],
    ['-1', -1n],
    ['9007199254740993', 9007199254740993n],
    ['18446744073709551615', 18446744073709551615n],
    ['-9223372036854775808', -9223372036854775808n],
  ]
  for (const [token, value] of integers) {
    test(`${token} is the integer ${value}n`, () => {
      assert.equal(parseJson(token), value)
    })
  }

  const floats: readonly [string, number][] = [
    ['1.0', 1],
    ['-0.0', -0],
    ['1e2', 100],
    ['1E+2', 100],
    ['2.50', 2.5],
    ['0e5', 0],
    ['18446744073709551616', 18446744073709551616],
    ['-9223372036854775809', -9223372036854775809],
    ['100000000000000000000', 1e20],
    ['1e-400', 0],
    ['-1e-400', -0],
    ['999999999999999.9', 999999999999999.9],
    ['9007199254740993.0', 9007199254740992],
  ]
  for (const [token, value] of floats) {
    test(`${token} is the float ${Object.is(value, -0) ? '-0' : String(value)}`, () => {
      const v = parseJson(token)
      assert.equal(typeof v, 'number')
      assert.ok(Object.is(v, value), `got ${writeCanonical(v)}`)
    })
  }

  test('-0 is the float -0, not an integer', () => {
    assert.ok(Object.is(parseJson('-0'), -0))
  })
  test('1e-400 underflows to +0', () => {
    assert.ok(Object.is(parseJson('1e-400'), 0))
  })
  for (const token of [
    '1e400',
    '-1e400',
    '1.8e308',
    '1' + '0'.repeat(400),
    '-' + '9'.repeat(400),
  ]) {
    test(`rejects ${token.slice(0, 12)}${token.length > 12 ? '…' : ''} (overflows to infinity)`, () => {
      assert.throws(() => parseJson(token), rejects)
    })
  }
})

describe('invalid syntax', () => {
  const invalid: readonly [string, string][] = [
    ['01', 'leading zero'],
    ['-01', 'negative leading zero'],
    ['+1', 'plus sign'],
    ['.5', 'no integer part'],
    ['1.', 'no fraction digits'],
    ['1.e5', 'no fraction digits before exponent'],
    ['1e', 'no exponent digits'],
    ['1e+', 'signed exponent without digits'],
    ['-', 'lone minus'],
    ['0x10', 'hex number'],
    ['NaN', 'NaN'],
    ['Infinity', 'Infinity'],
    ['[1,]', 'trailing comma in array'],
    ['{"a":1,}', 'trailing comma in object'],
    ['[,1]', 'leading comma'],
    ['{"a" 1}', 'missing colon'],
    ['{a:1}', 'unquoted key'],
    ["{'a':1}", 'single-quoted key'],
    ['{"a":1 "b":2}', 'missing comma'],
    ['1 2', 'two values'],
    ['[1]]', 'trailing bracket'],
    ['{} x', 'trailing garbage'],
    ['"abc', 'unterminated string'],
    ['"abc\\', 'unterminated escape'],
    ['"\\u12"', 'short \\u escape'],
    ['"\\x41"', 'unknown escape'],
    ['"\\U0041"', 'uppercase U escape'],
    ['"a\u0001b"', 'raw control character U+0001'],
    ['"a\nb"', 'raw newline in a string'],
    ['"a\tb"', 'raw tab in a string'],
    ['"\u001f"', 'raw U+001F'],
    ['tru', 'truncated literal'],
    ['True', 'capitalised literal'],
    ['nul', 'truncated null'],
    ['', 'empty text'],
    ['   ', 'only whitespace'],
    ['\ufeff{}', 'byte order mark'],
    ['{}\u00a0', 'non-JSON whitespace'],
    ['[', 'unclosed array'],
    ['{', 'unclosed object'],
    ['{"a":', 'missing value'],
  ]
  for (const [text, why] of invalid) {
    test(`rejects ${why}: ${JSON.stringify(text)}`, () => {
      assert.throws(() => parseJson(text), rejects)
    })
  }

  test('accepts the four JSON whitespace characters around tokens', () => {
    assert.equal(writeCanonical(parseJson(' \t\r\n{ "a" :\n[ 1 , 2 ]\t}\r\n ')), '{"a":[1,2]}')
  })
})

describe('objects', () => {
  test('duplicate keys: the last value wins', () => {
    const obj = asObject(parseJson('{"a":1,"b":2,"a":3}'))
    assert.equal(obj['a'], 3n)
    assert.equal(writeCanonical(obj), '{"a":3,"b":2}')
  })
  test('a duplicate key whose last value is an object replaces an earlier scalar', () => {
    assert.equal(writeCanonical(parseJson('{"a":1,"a":{"x":null}}')), '{"a":{"x":null}}')
  })
  test('objects have a null prototype', () => {
    assert.equal(Object.getPrototypeOf(parseJson('{}')), null)
    assert.equal(Object.getPrototypeOf(asObject(parseJson('{"a":{}}'))['a']), null)
  })
  test('a "__proto__" key is plain data and does not change the prototype', () => {
    const obj = asObject(parseJson('{"__proto__":{"polluted":true},"a":1}'))
    assert.equal(Object.getPrototypeOf(obj), null)
    assert.deepEqual(Object.keys(obj), ['__proto__', 'a'])
    assert.equal(asObject(obj['__proto__']!)['polluted'], true)
    assert.equal(({} as Record<string, unknown>)['polluted'], undefined)
    assert.equal(writeCanonical(obj), '{"__proto__":{"polluted":true},"a":1}')
  })
  test('"constructor" and "toString" keys are plain data', () => {
    const obj = asObject(parseJson('{"constructor":1,"toString":"x"}'))
    assert.equal(obj['constructor'], 1n)
    assert.deepEqual(Object.entries(obj), [
      ['constructor', 1n],
      ['toString', 'x'],
    ])
  })
})

describe('strings and surrogates', () => {
  test('decodes all short escapes', () => {
    assert.equal(parseJson('"\\"\\\\\\/\\b\\f\\n\\r\\t"'), '"\\/\b\f\n\r\t')
  })
  test('decodes \\u escapes in either case', () => {
    assert.equal(parseJson('"\\u00e9\\u00E9"'), 'éé')
  })
  test('accepts an escaped surrogate pair', () => {
    assert.equal(parseJson('"\\ud83d\\ude00"'), '\u{1F600}')
  })
  test('accepts a raw astral character', () => {
    assert.equal(parseJson('"\u{1F600}"'), '\u{1F600}')
  })
  test('rejects a lone high surrogate escape', () => {
    assert.throws(() => parseJson('"\\ud800"'), rejects)
  })
  test('rejects a lone low surrogate escape', () => {
    assert.throws(() => parseJson('"\\udc00"'), rejects)
  })
  test('rejects a high surrogate escape followed by a non-surrogate escape', () => {
    assert.throws(() => parseJson('"\\ud800\\u0041"'), rejects)
  })
  test('rejects two high surrogate escapes', () => {
    assert.throws(() => parseJson('"\\ud800\\ud800"'), rejects)
  })
  test('rejects reversed surrogate escapes (low then high)', () => {
    assert.throws(() => parseJson('"\\ude00\\ud83d"'), rejects)
  })
  test('rejects a high surrogate escape followed by plain text', () => {
    assert.throws(() => parseJson('"\\ud83dx"'), rejects)
  })
  test('rejects a lone raw surrogate in the text', () => {
    assert.throws(() => parseJson('"\ud800"'), rejects)
    assert.throws(() => parseJson('"\udc00"'), rejects)
  })
  test('rejects a lone surrogate escape in an object key', () => {
    assert.throws(() => parseJson('{"\\ud800":1}'), rejects)
  })
})

describe('UTF-8 input', () => {
  test('parses UTF-8 bytes', () => {
    assert.equal(parseJsonBytes(new TextEncoder().encode('"é😀"')), 'é😀')
  })
  test('rejects invalid UTF-8 with DECODE_ERROR', () => {
    assert.throws(() => parseJsonBytes(Uint8Array.from([0x22, 0xff, 0x22])), rejects)
  })
  test('rejects UTF-8-encoded surrogates (CESU-8) with DECODE_ERROR', () => {
    assert.throws(() => parseJsonBytes(Uint8Array.from([0x22, 0xed, 0xa0, 0x80, 0x22])), rejects)
  })
  test('rejects overlong UTF-8 with DECODE_ERROR', () => {
    assert.throws(() => parseJsonBytes(Uint8Array.from([0x22, 0xc0, 0xaf, 0x22])), rejects)
  })
})

describe('depth limit', () => {
  const nestedArrays = (n: number): string => '['.repeat(n) + ']'.repeat(n)
  const nestedObjects = (n: number): string => '{"a":'.repeat(n) + '1' + '}'.repeat(n)
  test(`accepts ${MAX_JSON_DEPTH} nested arrays and objects`, () => {
    assert.doesNotThrow(() => parseJson(nestedArrays(MAX_JSON_DEPTH)))
    assert.doesNotThrow(() => parseJson(nestedObjects(MAX_JSON_DEPTH)))
  })
  test(`rejects ${MAX_JSON_DEPTH + 1} levels of nesting`, () => {
    assert.throws(() => parseJson(nestedArrays(MAX_JSON_DEPTH + 1)), rejects)
    assert.throws(() => parseJson(nestedObjects(MAX_JSON_DEPTH + 1)), rejects)
  })
  test('rejects very deep nesting without a stack overflow', () => {
    assert.throws(() => parseJson('['.repeat(100_000)), rejects)
    assert.throws(() => parseJson('{"a":'.repeat(100_000)), rejects)
  })
  test('honours a smaller maxDepth argument', () => {
    assert.doesNotThrow(() => parseJson('[[1]]', 2))
    assert.throws(() => parseJson('[[[1]]]', 2), rejects)
  })
})

describe('hostile input sweeps', () => {
  const documents = [
    '{"author":"@A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg=.ed25519","sequence":1,"previous":null}',
    '{"a":[1,-2.5e-3,true,false,null,"s\\u00e9\\n\\ud83d\\ude00"],"b":{"c":{}},"d":[]}',
    '[18446744073709551615,-9223372036854775808,1e+16,-0.0,0.000025]',
    ' { "k" : "v\\"\\\\" , "n" : -0 } ',
  ]

  /** Parsing either succeeds or throws DECODE_ERROR; anything else is a bug. */
  function parsesOrRejects(text: string): void {
    try {
      parseJson(text)
    } catch (err) {
      assert.ok(
        err instanceof EgregoreError,
        `non-Egregore error for ${JSON.stringify(text)}: ${String(err)}`,
      )
      assert.equal(err.code, 'DECODE_ERROR')
    }
  }

  test('every document parses whole', () => {
    for (const doc of documents) assert.doesNotThrow(() => parseJson(doc))
  })
  test('every truncation prefix parses or throws DECODE_ERROR', () => {
    for (const doc of documents)
      for (let n = 0; n < doc.length; n++) parsesOrRejects(doc.slice(0, n))
  })
  test('every truncation of a structured document (not a bare number) is rejected', () => {
    for (const doc of documents) {
      for (let n = 0; n < doc.trimEnd().length; n++) {
        assert.throws(() => parseJson(doc.slice(0, n)), rejects, `prefix of ${n}`)
      }
    }
  })
  test('every suffix parses or throws DECODE_ERROR', () => {
    for (const doc of documents) for (let n = 1; n < doc.length; n++) parsesOrRejects(doc.slice(n))
  })
  test('extending a document with garbage is rejected', () => {
    for (const doc of documents) {
      for (const tail of ['x', ',', '}', ']', '0', '"', '\u0000', '{}']) {
        assert.throws(() => parseJson(doc + tail), rejects, JSON.stringify(tail))
      }
    }
  })
  test('replacing any character with NUL, a quote or a bracket parses or throws DECODE_ERROR', () => {
    for (const doc of documents) {
      for (let i = 0; i < doc.length; i++) {
        for (const c of ['\u0000', '"', '[', '}', '\\', '\ud800'])
          parsesOrRejects(doc.slice(0, i) + c + doc.slice(i + 1))
      }
    }
  })
  test('truncated UTF-8 bytes parse or throw DECODE_ERROR', () => {
    const bytes = new TextEncoder().encode('{"s":"é😀","n":[1,2]}')
    for (let n = 0; n < bytes.length; n++) {
      try {
        parseJsonBytes(bytes.subarray(0, n))
      } catch (err) {
        assert.ok(err instanceof EgregoreError && err.code === 'DECODE_ERROR', String(err))
      }
    }
  })
  test('oversized numbers and long strings are handled', () => {
    assert.throws(() => parseJson('1e' + '9'.repeat(1000)), rejects)
    assert.ok(Object.is(parseJson('1e-' + '9'.repeat(1000)), 0))
    assert.equal(typeof parseJson('0.' + '1'.repeat(5000)), 'number')
    assert.equal((parseJson(JSON.stringify('x'.repeat(100_000))) as string).length, 100_000)
  })
})
