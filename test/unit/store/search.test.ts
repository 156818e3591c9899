/**
 * Full-text search (PROTOCOL.md §6.3): the query language compiled by `toFtsQuery`, what is
 * indexed, filters, BM25 order, and that no input can make search throw.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { toFtsQuery } from '../../../src/store/index.js'
import {
  BASE_MS,
  buildFeed,
  createTestEngine,
  messagesOf,
  testIdentity,
  type TestEngine,
} from '../../helpers/feeds.js'

const alice = testIdentity(0xa1)
const bob = testIdentity(0xb0)
const FC_SEED = Number(process.env['FC_SEED'] ?? 1)

describe('toFtsQuery (§6.3 query language)', () => {
  const table: [string, string | null][] = [
    ['rust "hash chain" repl*', '"rust" "hash chain" "repl"*'],
    ['rust', '"rust"'],
    ['  padded   words  ', '"padded" "words"'],
    ['tab\tand\nnewline', '"tab" "and" "newline"'],
    ['"hash chain', '"hash chain"'], // unbalanced quote closes at the end
    ['a "b c', '"a" "b c"'],
    ['"hash chain"*', '"hash chain"*'],
    ['ab"cd', '"ab" "cd"'], // a quote starts a phrase even inside a word
    ['say "it\'s"', '"say" "it\'s"'],
    ['foo -bar', '"foo" "-bar"'],
    ['-bar', '"-bar"'],
    ['title:zebra', '"title:zebra"'],
    ['NEAR(a b)', '"NEAR(a" "b)"'],
    ['a NEAR b', '"a" "NEAR" "b"'],
    ['cats AND dogs', '"cats" "AND" "dogs"'],
    ['cats OR dogs', '"cats" "OR" "dogs"'],
    ['NOT x', '"NOT" "x"'],
    ['^start', '"^start"'],
    ['a+b', '"a+b"'],
    ['{col}: x', '"{col}:" "x"'],
    ['repl**', '"repl"*'],
    ['*repl', '"*repl"'],
    ['café', '"café"'],
    ['*', null],
    ['***', null],
    ['"', null],
    ['""', null],
    ['" "', null],
    ['- : ( ) *', '"-" ":" "(" ")"'],
    ['', null],
    ['   ', null],
    ['\t\n', null],
  ]
  for (const [input, expected] of table) {
    it(`compiles ${JSON.stringify(input)} to ${JSON.stringify(expected)}`, () => {
      assert.equal(toFtsQuery(input), expected)
    })
  }

  it('always produces space-separated quoted strings with inner quotes doubled (property)', () => {
    // Input quotes delimit phrases, so a term never carries one; whatever comes out must be a list
    // of FTS5 strings, so that no input can be read as FTS5 syntax.
    const shape = /^"(?:[^"]|"")*"\*?(?: "(?:[^"]|"")*"\*?)*$/
    for (const input of ['a"b"c', '"x""y"', 'he said "hi" ""', '"a\'"b', '"""', 'x"*"y']) {
      const q = toFtsQuery(input)
      assert.ok(q === null || shape.test(q), `${JSON.stringify(input)} → ${String(q)}`)
    }
    const text = fc.oneof(
      fc.string({ unit: fc.constantFrom('"', '*', ' ', 'a', 'b', '-', '(', ':') }),
      fc.string({ unit: 'grapheme' }),
    )
    fc.assert(
      fc.property(text, (input) => {
        const q = toFtsQuery(input)
        if (q === null) return
        assert.match(q, shape)
      }),
      { seed: FC_SEED, numRuns: 500 },
    )
  })
})

/** Publish our own notes (type 'note') with the given text fields; returns their hashes in order. */
async function publishAll(
  te: TestEngine,
  contents: readonly Record<string, string>[],
): Promise<string[]> {
  const hashes: string[] = []
  for (const c of contents) {
    const r = await te.engine.publish({ type: 'note', ...c })
    hashes.push(r.message.hash)
  }
  return hashes
}

function found(
  te: TestEngine,
  text: string,
  extra: { contentType?: string; author?: string } = {},
): string[] {
  return te.store.search({ text, ...extra }).map((m) => m.hash)
}

describe('search (§6.3)', () => {
  it('requires every term to match, in any order and position', async (t) => {
    const te = createTestEngine(t)
    const [both, onlyRust, reversed] = await publishAll(te, [
      { text: 'rust makes replication fast' },
      { text: 'rust only here' },
      { text: 'fast replication, written in rust' },
    ])
    assert.deepEqual(new Set(found(te, 'rust replication')), new Set([both, reversed]))
    assert.deepEqual(new Set(found(te, 'replication rust')), new Set([both, reversed]))
    assert.deepEqual(found(te, 'rust only'), [onlyRust])
    assert.deepEqual(found(te, 'rust missingword'), [])
  })

  it('matches a quoted phrase only when its words are adjacent and in order', async (t) => {
    const te = createTestEngine(t)
    const [adjacent, apart, swapped] = await publishAll(te, [
      { text: 'a hash chain links messages' },
      { text: 'a hash of the chain' },
      { text: 'chain hash' },
    ])
    assert.deepEqual(found(te, '"hash chain"'), [adjacent])
    assert.deepEqual(new Set(found(te, 'hash chain')), new Set([adjacent, apart, swapped]))
    assert.deepEqual(found(te, '"chain hash"'), [swapped])
    assert.deepEqual(found(te, '"hash chain'), [adjacent]) // unbalanced quote
  })

  it('treats a trailing * as a prefix term', async (t) => {
    const te = createTestEngine(t)
    const [replication, replica] = await publishAll(te, [
      { text: 'replication works' },
      { text: 'a replica' },
      { text: 'repeat' },
    ])
    assert.deepEqual(new Set(found(te, 'repl*')), new Set([replication, replica]))
    assert.deepEqual(found(te, 'replicat*'), [replication])
    assert.deepEqual(found(te, 'repl'), [])
  })

  it('treats FTS5 operators and punctuation as literal text', async (t) => {
    const te = createTestEngine(t)
    const [withOr, withoutOr, near] = await publishAll(te, [
      { text: 'cats or dogs' },
      { text: 'cats and dogs' },
      { text: 'near the river' },
    ])
    assert.deepEqual(found(te, 'cats OR dogs'), [withOr])
    assert.deepEqual(found(te, 'cats AND dogs'), [withoutOr])
    assert.deepEqual(found(te, 'NEAR river'), [near])
    assert.deepEqual(new Set(found(te, 'cats -dogs')), new Set([withOr, withoutOr])) // not a NOT
    assert.deepEqual(found(te, 'NOT river'), [])
    for (const q of [
      'NEAR(cats dogs)',
      'content_text:cats',
      '(cats',
      'cats)',
      '^cats',
      '+cats',
      'cats:',
      '*',
      '"',
      'a"b*"c',
    ]) {
      assert.doesNotThrow(() => te.store.search({ text: q }), q)
    }
  })

  it('returns nothing for an empty or blank query', async (t) => {
    const te = createTestEngine(t)
    await publishAll(te, [{ text: 'anything' }])
    assert.deepEqual(found(te, ''), [])
    assert.deepEqual(found(te, '   '), [])
    assert.deepEqual(found(te, '*'), [])
  })

  it('indexes string values only: not keys, not the top-level type, not numbers or booleans', async (t) => {
    const te = createTestEngine(t)
    const insight = await te.engine.publish({
      type: 'insight',
      title: 'zebra',
      observation: 'stripes',
    })
    const nested = await te.engine.publish({
      type: 'note',
      deep: { type: 'walrus', list: ['alpha', { inner: 'omega' }] },
      count: 4242n,
      flag: true,
      nothing: null,
    })
    assert.deepEqual(found(te, 'zebra'), [insight.message.hash])
    assert.deepEqual(found(te, 'stripes'), [insight.message.hash])
    assert.deepEqual(found(te, 'title'), [])
    assert.deepEqual(found(te, 'insight'), [])
    assert.deepEqual(found(te, 'observation'), [])
    // Nested `type` values are content like any other string.
    assert.deepEqual(found(te, 'walrus'), [nested.message.hash])
    assert.deepEqual(found(te, 'alpha omega'), [nested.message.hash])
    assert.deepEqual(found(te, 'note'), [])
    assert.deepEqual(found(te, 'deep'), [])
    assert.deepEqual(found(te, 'inner'), [])
    assert.deepEqual(found(te, '4242'), [])
    assert.deepEqual(found(te, 'true'), [])
    assert.deepEqual(found(te, 'null'), [])
  })

  it('indexes bare string content and the string values of arrays', async (t) => {
    const te = createTestEngine(t)
    const feed = buildFeed(alice, 3, {
      contentFn: (s) => ['bare string kiwi', ['mango', 7, 'papaya'], { type: 'lychee' }][s - 1],
    })
    for (const m of messagesOf(feed)) assert.equal((await te.engine.ingest(m)).status, 'stored')
    assert.deepEqual(found(te, 'kiwi'), [feed[0]?.message.hash])
    assert.deepEqual(found(te, 'papaya mango'), [feed[1]?.message.hash])
    assert.deepEqual(found(te, 'lychee'), []) // top-level type only
  })

  it('removes diacritics: cafe finds café and café finds cafe', async (t) => {
    const te = createTestEngine(t)
    const [accented, plain] = await publishAll(te, [
      { text: 'un café noir' },
      { text: 'cafe racer' },
    ])
    assert.deepEqual(new Set(found(te, 'cafe')), new Set([accented, plain]))
    assert.deepEqual(new Set(found(te, 'café')), new Set([accented, plain]))
    assert.deepEqual(found(te, 'NOIR'), [accented]) // case-folded
    const [naive] = await publishAll(te, [{ text: 'naïve Ångström' }])
    assert.deepEqual(found(te, 'naive angstrom'), [naive])
  })

  it('filters by content type and by author', async (t) => {
    const te = createTestEngine(t)
    const own = await te.engine.publish({ type: 'insight', title: 'shared term', observation: 'x' })
    const note = await te.engine.publish({ type: 'note', text: 'shared term' })
    const [a1] = messagesOf(
      buildFeed(alice, 1, { contentFn: () => ({ type: 'insight', title: 'shared term' }) }),
    )
    const [b1] = messagesOf(
      buildFeed(bob, 1, { contentFn: () => ({ type: 'note', text: 'shared term' }) }),
    )
    assert.ok(a1 !== undefined && b1 !== undefined)
    await te.engine.ingestMany([a1, b1])
    assert.equal(found(te, 'shared').length, 4)
    assert.deepEqual(
      new Set(found(te, 'shared', { contentType: 'insight' })),
      new Set([own.message.hash, a1.hash]),
    )
    assert.deepEqual(
      new Set(found(te, 'shared', { author: te.identity.id })),
      new Set([own.message.hash, note.message.hash]),
    )
    assert.deepEqual(found(te, 'shared', { author: bob.id, contentType: 'note' }), [b1.hash])
    assert.deepEqual(found(te, 'shared', { author: bob.id, contentType: 'insight' }), [])
  })

  it('ranks by BM25 (more mentions first), then newest first among equal ranks', async (t) => {
    let now = BASE_MS
    const te = createTestEngine(t, { clock: { now: () => (now += 1000) } })
    const [once, thrice] = await publishAll(te, [
      { text: 'raft consensus in one line about logs and more words' },
      { text: 'raft raft raft consensus and logs' },
    ])
    await publishAll(te, [{ text: 'nothing relevant here' }])
    assert.deepEqual(found(te, 'raft'), [thrice, once])
    const [older, newer] = await publishAll(te, [
      { text: 'identical twin text' },
      { text: 'identical twin text' },
    ])
    assert.deepEqual(found(te, 'twin'), [newer, older])
  })

  it('pages with limit and offset (default 20)', async (t) => {
    const te = createTestEngine(t)
    const feed = messagesOf(
      buildFeed(alice, 30, { contentFn: (s) => ({ type: 'note', text: `common word ${s}` }) }),
    )
    await te.engine.ingestMany(feed)
    assert.equal(found(te, 'common').length, 20)
    assert.equal(te.store.search({ text: 'common', limit: 100 }).length, 30)
    const first = te.store.search({ text: 'common', limit: 10 }).map((m) => m.hash)
    const second = te.store.search({ text: 'common', limit: 10, offset: 10 }).map((m) => m.hash)
    assert.equal(new Set([...first, ...second]).size, 20)
  })

  it('never throws for arbitrary query text (fuzz)', async (t) => {
    const te = createTestEngine(t)
    await publishAll(te, [{ text: 'some indexed text with "quotes" and (parens) and * stars' }])
    const meta = fc.constantFrom(
      '"',
      '*',
      '(',
      ')',
      ':',
      '-',
      '+',
      '^',
      '{',
      '}',
      ',',
      ' ',
      'NEAR',
      'AND',
      'OR',
      'NOT',
      'a',
      'é',
      '\t',
    )
    const text = fc.oneof(
      fc.string({ unit: 'grapheme' }),
      fc.string({ unit: 'binary' }),
      fc.string({ unit: meta, maxLength: 20 }),
    )
    fc.assert(
      fc.property(text, (s) => {
        const q = s
        te.store.search({ text: q })
        te.store.search({
          text: q,
          contentType: 'note',
          author: te.identity.id,
          limit: 5,
          offset: 1,
        })
      }),
      { seed: FC_SEED, numRuns: 300 },
    )
  })

  it('never throws for query text containing U+0000', async (t) => {
    const te = createTestEngine(t)
    await publishAll(te, [{ text: 'ab' }])
    for (const q of ['a\u0000b', 'a\u0000', '"a\u0000b"', 'ab\u0000*']) {
      assert.doesNotThrow(() => te.store.search({ text: q }), JSON.stringify(q))
    }
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', 'b', '\u0000', '"', '*', ' ') }), (q) => {
        te.store.search({ text: q })
      }),
      { seed: FC_SEED, numRuns: 200 },
    )
  })

  it('finds text made only of private-use characters, which unicode61 indexes as tokens', async (t) => {
    const te = createTestEngine(t)
    const [pua] = await publishAll(te, [{ text: '\uE000\uE001' }])
    assert.deepEqual(found(te, '\uE000\uE001'), [pua])
  })
})
