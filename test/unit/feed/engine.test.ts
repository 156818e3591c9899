/**
 * Feed engine (PROTOCOL.md §5): publish (§5.5), ingest outcomes in the order of checks (§5.1,
 * §5.2), chain_valid and transitive promotion (§5.3), batched ingest and message events (§5.4).
 * Real SQLite (in memory) and real Ed25519 throughout.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  fromPlainJson,
  timestampFromMillis,
  toBase64,
  utf8Length,
  writeCanonical,
} from '../../../src/codec/index.js'
import { sha256Hex } from '../../../src/crypto/index.js'
import { EgregoreError } from '../../../src/errors.js'
import {
  canonicalize,
  type IngestResult,
  type Message,
  type MessageEvent,
} from '../../../src/feed/index.js'
import {
  BASE_MS,
  at,
  buildFeed,
  chainRows,
  createTestEngine,
  messagesOf,
  signAt,
  signatureOver,
  tamper,
  testIdentity,
  withClaimedHash,
  type TestEngine,
} from '../../helpers/feeds.js'

const alice = testIdentity(0xa1)
const bob = testIdentity(0xb0)
/** A 32-byte "key" with y = 2: not a point on the curve (§2.2). */
const OFF_CURVE_AUTHOR = '@AgAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=.ed25519'
const HASH_F = 'f'.repeat(64)

function expectCode(code: string, messagePart?: string): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof EgregoreError, `expected an EgregoreError, got ${String(err)}`)
    assert.equal(err.code, code)
    if (messagePart !== undefined)
      assert.ok(err.message.includes(messagePart), `message was: ${err.message}`)
    return true
  }
}

function expectRejected(
  result: IngestResult | undefined,
  reason: string,
  detailPart: string,
): void {
  assert.ok(result !== undefined)
  assert.equal(
    result.status,
    'rejected',
    `expected rejected/${reason}, got ${JSON.stringify(result)}`,
  )
  if (result.status !== 'rejected') return
  assert.equal(result.reason, reason, `detail: ${result.detail}`)
  assert.ok(result.detail.includes(detailPart), `detail was: ${result.detail}`)
}

function expectStored(result: IngestResult | undefined, chainValid: boolean): number {
  assert.ok(result !== undefined)
  assert.equal(result.status, 'stored', `expected stored, got ${JSON.stringify(result)}`)
  if (result.status !== 'stored') return -1
  assert.equal(result.chainValid, chainValid)
  return result.id
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** The last data character of a `==`-padded base64 text with its 4 unused bits set. */
function withStrayBits(c: string): string {
  const v = BASE64_ALPHABET.indexOf(c)
  return BASE64_ALPHABET.charAt((v & 0b110000) | 0b0101)
}

function messageCount(te: TestEngine): number {
  return te.store.counts().messageCount
}

/** Content whose canonical form is exactly `bytes` bytes long. */
function contentOfBytes(bytes: number): { type: string; text: string } {
  // {"text":"…","type":"note"} is 25 bytes around the text.
  const content = { type: 'note', text: 'x'.repeat(bytes - 25) }
  assert.equal(utf8Length(writeCanonical(fromPlainJson(content))), bytes)
  return content
}

describe('publish (§5.5)', () => {
  it('gives sequence 1 a null previous and links each next message to its predecessor hash', async (t) => {
    const te = createTestEngine(t)
    const first = await te.engine.publish(fromPlainJson({ type: 'note', text: 'one' }))
    const second = await te.engine.publish(fromPlainJson({ type: 'note', text: 'two' }))
    const third = await te.engine.publish(fromPlainJson({ type: 'note', text: 'three' }))
    assert.equal(first.message.sequence, 1)
    assert.equal(first.message.previous, null)
    assert.equal(first.message.author, te.identity.id)
    assert.equal(second.message.sequence, 2)
    assert.equal(second.message.previous, first.message.hash)
    assert.equal(third.message.previous, second.message.hash)
    assert.equal(first.message.hash, sha256Hex(canonicalize(first.message).text))
    assert.deepEqual(
      chainRows(te.db, te.identity.id).map((r) => [r.sequence, r.hash, r.chainValid]),
      [first, second, third].map((p) => [p.message.sequence, p.message.hash, true]),
    )
    assert.equal(te.store.messageByHash(second.message.hash)?.wireText, second.wireText)
    assert.equal(te.store.contiguousSequence(te.identity.id), 3)
  })

  it('returns the wire form with hash and signature after the canonical fields', async (t) => {
    const te = createTestEngine(t, { clock: { now: () => BASE_MS + 123 } })
    const r = await te.engine.publish(fromPlainJson({ type: 'note', text: 'hi' }))
    assert.equal(r.message.timestamp, '2026-01-01T00:00:00.123Z')
    assert.equal(
      r.wireText,
      `{"author":"${te.identity.id}","sequence":1,"previous":null,"timestamp":"2026-01-01T00:00:00.123Z",` +
        `"content":{"text":"hi","type":"note"},"hash":"${r.message.hash}","signature":"${r.message.signature}"}`,
    )
    assert.deepEqual(r.warnings, [])
  })

  it('rejects content that is not an object with a non-empty string type as INVALID_CONTENT', async (t) => {
    const te = createTestEngine(t)
    const bad: unknown[] = [
      'a string',
      42,
      null,
      true,
      ['type', 'note'],
      {},
      { text: 'no type' },
      { type: '' },
      { type: 7 },
      { type: null },
      { type: ['note'] },
    ]
    for (const content of bad) {
      await assert.rejects(
        te.engine.publish(fromPlainJson(content)),
        expectCode('INVALID_CONTENT', "non-empty string 'type'"),
        `content ${JSON.stringify(content)}`,
      )
    }
    assert.equal(messageCount(te), 0)
    assert.equal(te.events.length, 0)
  })

  it('rejects a built-in type that breaks its schema with INVALID_CONTENT naming the field', async (t) => {
    const te = createTestEngine(t)
    await assert.rejects(
      te.engine.publish(fromPlainJson({ type: 'insight', observation: 'seen' })),
      expectCode('INVALID_CONTENT', "'title'"),
    )
    await assert.rejects(
      te.engine.publish(fromPlainJson({ type: 'insight', title: '', observation: 'seen' })),
      expectCode('INVALID_CONTENT', "'title'"),
    )
    await assert.rejects(
      te.engine.publish(
        fromPlainJson({ type: 'insight', title: 't', observation: 'o', confidence: 1.5 }),
      ),
      expectCode('INVALID_CONTENT', "'confidence'"),
    )
    await assert.rejects(
      te.engine.publish(
        fromPlainJson({ type: 'insight', title: 't', observation: 'o', colour: 'red' }),
      ),
      expectCode('INVALID_CONTENT', "'colour'"),
    )
    await assert.rejects(
      te.engine.publish(fromPlainJson({ type: 'endorsement', message_hash: 'ABC' })),
      expectCode('INVALID_CONTENT', "'message_hash'"),
    )
    assert.equal(messageCount(te), 0)
    const ok = await te.engine.publish(
      fromPlainJson({
        type: 'insight',
        title: 't',
        observation: 'o',
        confidence: 0.5,
        tags: ['a'],
        context: null,
      }),
    )
    assert.equal(ok.message.sequence, 1)
  })

  it('publishes an unknown type with any other fields', async (t) => {
    const te = createTestEngine(t)
    const r = await te.engine.publish(
      fromPlainJson({ type: 'x-custom', anything: { nested: [1, 2] } }),
    )
    assert.equal(r.message.sequence, 1)
  })

  it(
    'publishes content whose type is an Object.prototype key such as "constructor" (unknown type)',
    {},
    async (t) => {
      const te = createTestEngine(t)
      for (const type of ['constructor', 'toString', 'hasOwnProperty', '__proto__']) {
        const r = await te.engine.publish(fromPlainJson({ type }))
        assert.equal(r.message.content !== null && typeof r.message.content === 'object', true)
      }
    },
  )

  it(
    'rejects an insight carrying a field named like an Object.prototype member ("constructor")',
    {},
    async (t) => {
      const te = createTestEngine(t)
      for (const field of ['constructor', 'toString']) {
        await assert.rejects(
          te.engine.publish(
            fromPlainJson({ type: 'insight', title: 't', observation: 'o', [field]: 'x' }),
          ),
          expectCode('INVALID_CONTENT', `'${field}'`),
        )
      }
    },
  )

  it('rejects content over 65536 canonical bytes with FEED_INTEGRITY and accepts exactly 65536', async (t) => {
    const te = createTestEngine(t)
    await assert.rejects(
      te.engine.publish(fromPlainJson(contentOfBytes(65537))),
      expectCode('FEED_INTEGRITY', 'content too large: 65537 bytes (max 65536)'),
    )
    assert.equal(messageCount(te), 0)
    const r = await te.engine.publish(fromPlainJson(contentOfBytes(65536)))
    assert.equal(r.message.sequence, 1)
  })

  it('counts content bytes in UTF-8, not UTF-16 units', async (t) => {
    const te = createTestEngine(t)
    // 'é' is 1 UTF-16 unit but 2 UTF-8 bytes: 32756 of them make 65512 + 25 bytes.
    const content = fromPlainJson({ type: 'note', text: 'é'.repeat(32756) })
    assert.equal(utf8Length(writeCanonical(content)), 65537)
    await assert.rejects(
      te.engine.publish(content),
      expectCode('FEED_INTEGRITY', 'content too large: 65537 bytes'),
    )
  })

  it('gives 500 concurrent publishes sequences 1..500 once each, an unbroken chain, all chain_valid', async (t) => {
    const te = createTestEngine(t)
    const results = await Promise.all(
      Array.from({ length: 500 }, (_, i) => te.engine.publish(fromPlainJson({ type: 'note', i }))),
    )
    const sequences = results.map((r) => r.message.sequence).sort((a, b) => a - b)
    assert.deepEqual(
      sequences,
      Array.from({ length: 500 }, (_, i) => i + 1),
    )
    const rows = chainRows(te.db, te.identity.id)
    assert.equal(rows.length, 500)
    assert.ok(rows.every((r) => r.chainValid))
    const bySeq = new Map(results.map((r) => [r.message.sequence, r.message]))
    for (let s = 1; s <= 500; s++) {
      const m = bySeq.get(s)
      assert.ok(m !== undefined)
      assert.equal(m.previous, s === 1 ? null : bySeq.get(s - 1)?.hash)
      assert.equal(at(rows, s - 1).hash, m.hash)
    }
    assert.equal(te.store.contiguousSequence(te.identity.id), 500)
    assert.equal(te.events.length, 500)
    assert.deepEqual(
      new Set(te.events.map((e) => e.hash)),
      new Set(results.map((r) => r.message.hash)),
    )
  })

  it('chains concurrent publishes across several groups (maxPublishGroup 7)', async (t) => {
    const te = createTestEngine(t, { engine: { maxPublishGroup: 7 } })
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => te.engine.publish(fromPlainJson({ type: 'note', i }))),
    )
    // Publishes are serialised in call order.
    assert.deepEqual(
      results.map((r) => r.message.sequence),
      Array.from({ length: 50 }, (_, i) => i + 1),
    )
    const rows = chainRows(te.db, te.identity.id)
    for (let i = 1; i < rows.length; i++) {
      assert.equal(at(results, i).message.previous, at(rows, i - 1).hash)
    }
    assert.ok(rows.every((r) => r.chainValid))
  })

  it('emits exactly one event per publish, with origin null and the stored wire text', async (t) => {
    const te = createTestEngine(t)
    const r1 = await te.engine.publish(fromPlainJson({ type: 'note', text: 'a' }))
    const r2 = await te.engine.publish(
      fromPlainJson({ type: 'insight', title: 't', observation: 'o' }),
    )
    assert.deepEqual(te.events, [
      {
        id: r1.id,
        author: te.identity.id,
        sequence: 1,
        hash: r1.message.hash,
        contentType: 'note',
        wireText: r1.wireText,
        chainValid: true,
        origin: null,
      },
      {
        id: r2.id,
        author: te.identity.id,
        sequence: 2,
        hash: r2.message.hash,
        contentType: 'insight',
        wireText: r2.wireText,
        chainValid: true,
        origin: null,
      },
    ])
    assert.ok(r2.id > r1.id)
  })

  it('returns an interop warning for a float upstream misreads (3e+23) and none for ordinary numbers', async (t) => {
    const te = createTestEngine(t)
    const r = await te.engine.publish(
      fromPlainJson({ type: 'note', big: 3e23, small: 2e-30, fine: 0.25, n: 12 }),
    )
    assert.equal(r.warnings.length, 2)
    assert.ok(
      r.warnings.some((w) => w.includes('/big') && w.includes('3e+23')),
      r.warnings.join('\n'),
    )
    assert.ok(
      r.warnings.some((w) => w.includes('/small')),
      r.warnings.join('\n'),
    )
    assert.ok(r.wireText.includes('"big":3e+23'))
    const plain = await te.engine.publish(
      fromPlainJson({ type: 'note', x: 1.5, y: 0.1, z: 123456789 }),
    )
    assert.deepEqual(plain.warnings, [])
  })

  it('warns for 1.602176634e-19, which §1.4.4 names as misread by upstream', {}, async (t) => {
    const te = createTestEngine(t)
    const r = await te.engine.publish(fromPlainJson({ type: 'note', e: 1.602176634e-19 }))
    assert.equal(r.warnings.length, 1)
  })

  it('keeps publishing and notifying other listeners when a listener throws', async (t) => {
    const te = createTestEngine(t)
    let calls = 0
    te.engine.onMessage(() => {
      calls++
      throw new Error('listener failure')
    })
    const seen: number[] = []
    te.engine.onMessage((e) => seen.push(e.sequence))
    const r1 = await te.engine.publish(fromPlainJson({ type: 'note' }))
    const r2 = await te.engine.publish(fromPlainJson({ type: 'note' }))
    assert.equal(r1.message.sequence, 1)
    assert.equal(r2.message.sequence, 2)
    assert.equal(calls, 2)
    assert.deepEqual(seen, [1, 2])
    const ingested = await te.engine.ingest(at(buildFeed(alice, 1), 0).message)
    expectStored(ingested, true)
    assert.equal(calls, 3)
  })

  it('stops notifying a listener after it unsubscribes', async (t) => {
    const te = createTestEngine(t)
    const seen: number[] = []
    const off = te.engine.onMessage((e) => seen.push(e.sequence))
    await te.engine.publish(fromPlainJson({ type: 'note' }))
    off()
    await te.engine.publish(fromPlainJson({ type: 'note' }))
    assert.deepEqual(seen, [1])
  })

  it('finishes in-flight publishes on close and then refuses work with CLOSED', async (t) => {
    const te = createTestEngine(t)
    const pending = te.engine.publish(fromPlainJson({ type: 'note' }))
    await te.engine.close()
    assert.equal((await pending).message.sequence, 1)
    assert.equal(messageCount(te), 1)
    await assert.rejects(te.engine.publish(fromPlainJson({ type: 'note' })), expectCode('CLOSED'))
    await assert.rejects(te.engine.ingest(at(buildFeed(alice, 1), 0).message), expectCode('CLOSED'))
    await te.engine.close()
  })

  it('resolves every concurrent close() call once in-flight work ends', {}, async (t) => {
    const te = createTestEngine(t)
    const pending = te.engine.publish(fromPlainJson({ type: 'note' }))
    const settled: string[] = []
    const first = te.engine.close().then(() => settled.push('first'))
    const second = te.engine.close().then(() => settled.push('second'))
    await pending
    await second
    // One more turn of the event loop for the first close's continuation.
    await new Promise<void>((resolve) => setImmediate(resolve))
    assert.deepEqual(settled.sort(), ['first', 'second'])
    await first
  })

  it('rejects every publish of a group with STORE_ERROR when the database write fails', async (t) => {
    const te = createTestEngine(t)
    await te.engine.publish(fromPlainJson({ type: 'note' }))
    te.db.exec(
      "CREATE TRIGGER no_more BEFORE INSERT ON messages BEGIN SELECT RAISE(ABORT, 'read only'); END",
    )
    const outcomes = await Promise.allSettled([
      te.engine.publish(fromPlainJson({ type: 'note' })),
      te.engine.publish(fromPlainJson({ type: 'note' })),
    ])
    for (const o of outcomes) {
      assert.equal(o.status, 'rejected')
      if (o.status === 'rejected') expectCode('STORE_ERROR')(o.reason)
    }
    assert.equal(messageCount(te), 1)
    te.db.exec('DROP TRIGGER no_more')
    const next = await te.engine.publish(fromPlainJson({ type: 'note' }))
    assert.equal(next.message.sequence, 2)
  })
})

describe('ingest outcomes (§5.1) in the order of checks (§5.2)', () => {
  it('stores a valid first message with chain_valid true, its wire text and an arrival id', async (t) => {
    const te = createTestEngine(t)
    const [m1] = buildFeed(alice, 1)
    assert.ok(m1 !== undefined)
    const id = expectStored(await te.engine.ingest(m1.message), true)
    const stored = te.store.messageByHash(m1.message.hash)
    assert.ok(stored !== undefined)
    assert.equal(stored.id, id)
    assert.equal(stored.wireText, m1.wireText)
    assert.equal(stored.chainValid, true)
  })

  it('rejects sequence 0 as bad_structure (step 1)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 0 }).message
    expectRejected(await te.engine.ingest(m), 'bad_structure', 'sequence must be >= 1')
    assert.equal(messageCount(te), 0)
  })

  it('rejects a sequence above 2^53 - 1 as bad_structure (step 1)', async (t) => {
    const te = createTestEngine(t)
    const m = tamper(signAt(alice, { sequence: 1 }).message, { sequence: 2 ** 53 })
    expectRejected(await te.engine.ingest(m), 'bad_structure', 'sequence out of range')
  })

  it('rejects content over 65536 canonical bytes as too_large and stores exactly 65536 (step 2)', async (t) => {
    const te = createTestEngine(t)
    const big = signAt(alice, { sequence: 1, content: contentOfBytes(65537) }).message
    expectRejected(
      await te.engine.ingest(big),
      'too_large',
      'content too large: 65537 bytes (max 65536)',
    )
    const edge = signAt(alice, { sequence: 1, content: contentOfBytes(65536) }).message
    expectStored(await te.engine.ingest(edge), true)
  })

  it('accepts any JSON value as content on ingest (§1.8.1)', async (t) => {
    const te = createTestEngine(t)
    const contents: unknown[] = [
      'bare string',
      42,
      null,
      true,
      [1, 'two'],
      { no: 'type' },
      { type: '' },
    ]
    const feed = buildFeed(alice, contents.length, { contentFn: (s) => contents[s - 1] })
    const results = await te.engine.ingestMany(messagesOf(feed))
    for (const r of results) expectStored(r, true)
    assert.deepEqual(
      te.store.queryFeed({ author: alice.id }).map((m) => m.contentType),
      ['', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown', 'unknown'],
    )
  })

  it('returns duplicate for the same (author, sequence, hash) and stores nothing new (step 4)', async (t) => {
    const te = createTestEngine(t)
    const [m1] = messagesOf(buildFeed(alice, 1))
    assert.ok(m1 !== undefined)
    expectStored(await te.engine.ingest(m1), true)
    assert.deepEqual(await te.engine.ingest(m1), { status: 'duplicate' })
    // Step 4 stops before the signature check: a held hash with a garbage signature is still a duplicate.
    assert.deepEqual(await te.engine.ingest(tamper(m1, { signature: 'garbage' })), {
      status: 'duplicate',
    })
    assert.equal(messageCount(te), 1)
    assert.equal(te.events.length, 1)
  })

  it('rejects an author that is not a curve point as bad_author (step 5)', async (t) => {
    const te = createTestEngine(t)
    const m = tamper(signAt(alice, { sequence: 1 }).message, { author: OFF_CURVE_AUTHOR })
    expectRejected(await te.engine.ingest(m), 'bad_author', 'invalid author public key')
    const malformed = tamper(signAt(alice, { sequence: 1 }).message, {
      author: '@not-a-key.ed25519',
    })
    expectRejected(await te.engine.ingest(malformed), 'bad_author', 'invalid author public key')
  })

  it('rejects a signature that is not canonical base64 of 64 bytes as bad_signature (step 6)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 1 }).message
    const sig = m.signature
    const variants = [
      'not base64 at all!',
      '',
      toBase64(new Uint8Array(63).fill(1)), // 63 bytes
      toBase64(new Uint8Array(65).fill(1)), // 65 bytes
      sig.replace(/=+$/, ''), // padding dropped
      '-' + sig.slice(1), // URL-safe alphabet
      ' ' + sig, // whitespace
      sig.slice(0, 85) + withStrayBits(sig.charAt(85)) + '==', // non-zero unused bits
    ]
    for (const signature of variants) {
      expectRejected(
        await te.engine.ingest(tamper(m, { signature })),
        'bad_signature',
        'invalid signature encoding',
      )
    }
    assert.equal(messageCount(te), 0)
  })

  it('rejects a signature made by another key as bad_signature (step 6)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 1 }).message
    const forged = tamper(m, { signature: signatureOver(m.hash, bob) })
    expectRejected(await te.engine.ingest(forged), 'bad_signature', 'signature verification failed')
  })

  it('rejects a changed claimed hash under the original signature as bad_signature (step 6)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 1 }).message
    expectRejected(
      await te.engine.ingest(tamper(m, { hash: HASH_F })),
      'bad_signature',
      'signature verification failed',
    )
  })

  it('rejects content changed after signing (hash and signature kept) as bad_hash (step 7)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 1, content: { type: 'note', text: 'original' } }).message
    const altered = tamper(m, { content: fromPlainJson({ type: 'note', text: 'altered' }) })
    const computed = sha256Hex(canonicalize(altered).text)
    expectRejected(
      await te.engine.ingest(altered),
      'bad_hash',
      `hash mismatch: computed=${computed}, claimed=${m.hash}`,
    )
    // Any other field of the preimage counts as well.
    const retimed = tamper(m, { timestamp: timestampFromMillis(BASE_MS + 5) })
    expectRejected(await te.engine.ingest(retimed), 'bad_hash', 'hash mismatch')
    assert.equal(messageCount(te), 0)
  })

  it('rejects a claimed hash re-signed by the author but not matching the content as bad_hash (step 7)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 1 }).message
    expectRejected(
      await te.engine.ingest(withClaimedHash(m, HASH_F, alice)),
      'bad_hash',
      `claimed=${HASH_F}`,
    )
  })

  it('rejects a different valid message at a held sequence as fork, keeps the held one, records evidence (step 8)', async (t) => {
    const te = createTestEngine(t)
    const held = signAt(alice, { sequence: 1, content: { type: 'note', text: 'held' } })
    const rival = signAt(alice, { sequence: 1, content: { type: 'note', text: 'rival' } })
    expectStored(await te.engine.ingest(held.message), true)
    expectRejected(
      await te.engine.ingest(rival.message, { origin: 'peer-x' }),
      'fork',
      `conflicting message at sequence 1: held ${held.message.hash}, received ${rival.message.hash}`,
    )
    assert.deepEqual(chainRows(te.db, alice.id), [
      { sequence: 1, hash: held.message.hash, chainValid: true },
    ])
    assert.equal(te.store.messageByHash(rival.message.hash), undefined)
    const forks = te.db
      .prepare('SELECT author, sequence, held_hash, received_hash, received_json FROM forks')
      .all() as Record<string, unknown>[]
    assert.deepEqual(forks, [
      {
        author: alice.id,
        sequence: 1,
        held_hash: held.message.hash,
        received_hash: rival.message.hash,
        received_json: rival.wireText,
      },
    ])
    // Seeing the same rival again rejects it again without a second evidence row.
    expectRejected(
      await te.engine.ingest(rival.message),
      'fork',
      'conflicting message at sequence 1',
    )
    assert.equal((te.db.prepare('SELECT count(*) AS n FROM forks').get() as { n: number }).n, 1)
    assert.equal(te.events.length, 1)
  })

  it('rejects sequence 1 with a previous hash as bad_structure (step 9)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 1, previous: HASH_F }).message
    expectRejected(
      await te.engine.ingest(m),
      'bad_structure',
      'first message must have no previous hash',
    )
  })

  it('rejects sequence 3 without a previous hash as bad_structure (step 9)', async (t) => {
    const te = createTestEngine(t)
    const m = signAt(alice, { sequence: 3, previous: null }).message
    expectRejected(
      await te.engine.ingest(m),
      'bad_structure',
      'message at sequence 3 must reference previous hash',
    )
  })

  it('rejects sequence 2 whose previous is not the held sequence 1 hash as forward_fork (step 10)', async (t) => {
    const te = createTestEngine(t)
    const [m1] = messagesOf(buildFeed(alice, 1))
    assert.ok(m1 !== undefined)
    expectStored(await te.engine.ingest(m1), true)
    const m2 = signAt(alice, { sequence: 2, previous: HASH_F }).message
    expectRejected(
      await te.engine.ingest(m2),
      'forward_fork',
      'previous hash mismatch at sequence 2',
    )
    assert.equal(messageCount(te), 1)
  })

  it('stores a message whose predecessor is not held, whatever its previous says', async (t) => {
    const te = createTestEngine(t)
    const m5 = signAt(alice, { sequence: 5, previous: HASH_F }).message
    expectStored(await te.engine.ingest(m5), false)
  })

  it('rejects sequence 2 whose hash is not held sequence 3 previous as backward_fork (step 11)', async (t) => {
    const te = createTestEngine(t)
    const [m1, , m3] = messagesOf(buildFeed(alice, 3))
    assert.ok(m1 !== undefined && m3 !== undefined)
    expectStored(await te.engine.ingest(m1), true)
    expectStored(await te.engine.ingest(m3), false)
    const rival2 = signAt(alice, {
      sequence: 2,
      previous: m1.hash,
      content: { type: 'note', text: 'rival' },
    }).message
    expectRejected(
      await te.engine.ingest(rival2),
      'backward_fork',
      'backward chain mismatch at sequence 2',
    )
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => [r.sequence, r.chainValid]),
      [
        [1, true],
        [3, false],
      ],
    )
  })

  describe('the first failing check decides', () => {
    const cases: {
      name: string
      setup?: Message[]
      message: () => Message
      reason: string
      detail: string
    }[] = [
      {
        name: 'sequence 0 with oversized content → bad_structure',
        message: () => signAt(alice, { sequence: 0, content: contentOfBytes(70000) }).message,
        reason: 'bad_structure',
        detail: 'sequence must be >= 1',
      },
      {
        name: 'oversized content from an off-curve author → too_large',
        message: () =>
          tamper(signAt(alice, { sequence: 1, content: contentOfBytes(70000) }).message, {
            author: OFF_CURVE_AUTHOR,
          }),
        reason: 'too_large',
        detail: 'content too large: 70000 bytes',
      },
      {
        name: 'off-curve author with an undecodable signature → bad_author',
        message: () =>
          tamper(signAt(alice, { sequence: 1 }).message, {
            author: OFF_CURVE_AUTHOR,
            signature: '!',
          }),
        reason: 'bad_author',
        detail: 'invalid author public key',
      },
      {
        name: 'wrong signer and altered content → bad_signature',
        message: () => {
          const m = signAt(alice, { sequence: 1 }).message
          return tamper(m, { signature: signatureOver(m.hash, bob), content: 'altered' })
        },
        reason: 'bad_signature',
        detail: 'signature verification failed',
      },
      {
        name: 'wrong hash at a held sequence → bad_hash, not fork',
        setup: [signAt(alice, { sequence: 1 }).message],
        message: () =>
          withClaimedHash(signAt(alice, { sequence: 1, content: 'other' }).message, HASH_F, alice),
        reason: 'bad_hash',
        detail: 'hash mismatch',
      },
      {
        name: 'rival at a held sequence 1 that also has a previous hash → fork, not bad_structure',
        setup: [signAt(alice, { sequence: 1 }).message],
        message: () => signAt(alice, { sequence: 1, previous: HASH_F }).message,
        reason: 'fork',
        detail: 'conflicting message at sequence 1',
      },
      {
        name: 'null previous after a held predecessor → bad_structure, not forward_fork',
        setup: [signAt(alice, { sequence: 1 }).message],
        message: () => signAt(alice, { sequence: 2, previous: null }).message,
        reason: 'bad_structure',
        detail: 'message at sequence 2 must reference previous hash',
      },
      {
        name: 'broken links on both sides → forward_fork',
        setup: messagesOf(buildFeed(alice, 3)).filter((m) => m.sequence !== 2),
        message: () => signAt(alice, { sequence: 2, previous: HASH_F }).message,
        reason: 'forward_fork',
        detail: 'previous hash mismatch at sequence 2',
      },
    ]
    for (const c of cases) {
      it(c.name, async (t) => {
        const te = createTestEngine(t)
        if (c.setup !== undefined)
          for (const r of await te.engine.ingestMany(c.setup)) assert.equal(r.status, 'stored')
        const before = messageCount(te)
        expectRejected(await te.engine.ingest(c.message()), c.reason, c.detail)
        assert.equal(messageCount(te), before)
      })
    }
  })
})

describe('chain_valid (§5.3)', () => {
  it('stores 3, 2, 5, 4 as gaps and promotes all of them transitively when 1 arrives', async (t) => {
    const te = createTestEngine(t)
    const feed = messagesOf(buildFeed(alice, 5))
    const order = [3, 2, 5, 4, 1]
    const flags: boolean[] = []
    for (const s of order) {
      const r = await te.engine.ingest(at(feed, s - 1))
      assert.equal(r.status, 'stored')
      if (r.status === 'stored') flags.push(r.chainValid)
    }
    assert.deepEqual(flags, [false, false, false, false, true])
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => [r.sequence, r.chainValid]),
      [1, 2, 3, 4, 5].map((s) => [s, true]),
    )
    assert.equal(te.store.contiguousSequence(alice.id), 5)
    assert.deepEqual(te.store.feedSummaries(), [
      { author: alice.id, latestSequence: 5, contiguousSequence: 5 },
    ])
    assert.deepEqual(
      te.events.map((e) => [e.sequence, e.chainValid]),
      order.map((s) => [s, s === 1]),
    )
  })

  it('leaves a message after a gap invalid: 1, 2, 4 → contiguous 2, then 3 closes the gap', async (t) => {
    const te = createTestEngine(t)
    const feed = messagesOf(buildFeed(alice, 4))
    expectStored(await te.engine.ingest(at(feed, 0)), true)
    expectStored(await te.engine.ingest(at(feed, 1)), true)
    expectStored(await te.engine.ingest(at(feed, 3)), false)
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => [r.sequence, r.chainValid]),
      [
        [1, true],
        [2, true],
        [4, false],
      ],
    )
    assert.equal(te.store.contiguousSequence(alice.id), 2)
    assert.deepEqual(te.store.feedSummaries(), [
      { author: alice.id, latestSequence: 4, contiguousSequence: 2 },
    ])
    expectStored(await te.engine.ingest(at(feed, 2)), true)
    assert.ok(chainRows(te.db, alice.id).every((r) => r.chainValid))
    assert.equal(te.store.contiguousSequence(alice.id), 4)
  })

  it('promotes only up to the next missing message', async (t) => {
    const te = createTestEngine(t)
    const feed = messagesOf(buildFeed(alice, 6))
    for (const s of [2, 3, 5, 6]) expectStored(await te.engine.ingest(at(feed, s - 1)), false)
    expectStored(await te.engine.ingest(at(feed, 0)), true)
    assert.deepEqual(
      chainRows(te.db, alice.id).map((r) => [r.sequence, r.chainValid]),
      [
        [1, true],
        [2, true],
        [3, true],
        [5, false],
        [6, false],
      ],
    )
    assert.equal(te.store.contiguousSequence(alice.id), 3)
  })

  it('keeps feeds of different authors independent', async (t) => {
    const te = createTestEngine(t)
    const a = messagesOf(buildFeed(alice, 2))
    const b = messagesOf(buildFeed(bob, 2))
    await te.engine.ingestMany([at(a, 1), at(b, 0), at(b, 1)])
    assert.equal(te.store.contiguousSequence(alice.id), 0)
    assert.equal(te.store.contiguousSequence(bob.id), 2)
    await te.engine.ingest(at(a, 0))
    assert.equal(te.store.contiguousSequence(alice.id), 2)
  })
})

describe('ingestMany', () => {
  it('returns results in input order', async (t) => {
    const te = createTestEngine(t)
    const feed = messagesOf(buildFeed(alice, 5))
    const results = await te.engine.ingestMany([...feed].reverse())
    assert.deepEqual(
      results.map((r) => (r.status === 'stored' ? r.chainValid : r.status)),
      [false, false, false, false, true],
    )
    assert.ok(chainRows(te.db, alice.id).every((r) => r.chainValid))
  })

  it('stores the valid messages of a mixed batch and rejects the others, each in place', async (t) => {
    const te = createTestEngine(t)
    const [m1, m2, m3] = messagesOf(buildFeed(alice, 3))
    assert.ok(m1 !== undefined && m2 !== undefined && m3 !== undefined)
    const bobs = signAt(bob, { sequence: 1 }).message
    const results = await te.engine.ingestMany([
      m1,
      tamper(bobs, { signature: signatureOver(bobs.hash, alice) }),
      m2,
      signAt(bob, { sequence: 0 }).message,
      tamper(bobs, { content: 'altered' }),
      m3,
      bobs,
    ])
    expectStored(results[0], true)
    expectRejected(results[1], 'bad_signature', 'signature verification failed')
    expectStored(results[2], true)
    expectRejected(results[3], 'bad_structure', 'sequence must be >= 1')
    expectRejected(results[4], 'bad_hash', 'hash mismatch')
    expectStored(results[5], true)
    expectStored(results[6], true)
    assert.equal(results.length, 7)
    assert.equal(messageCount(te), 4)
  })

  it('stores a message listed twice in one batch once, then reports duplicate', async (t) => {
    const te = createTestEngine(t)
    const [m1] = messagesOf(buildFeed(alice, 1))
    assert.ok(m1 !== undefined)
    const results = await te.engine.ingestMany([m1, m1])
    expectStored(results[0], true)
    assert.deepEqual(results[1], { status: 'duplicate' })
    assert.equal(te.events.length, 1)
  })

  it('rejects the second of two rival messages in one batch as fork', async (t) => {
    const te = createTestEngine(t)
    const a = signAt(alice, { sequence: 1, content: 'a' }).message
    const b = signAt(alice, { sequence: 1, content: 'b' }).message
    const results = await te.engine.ingestMany([a, b])
    expectStored(results[0], true)
    expectRejected(results[1], 'fork', `held ${a.hash}`)
  })

  it('stores all of a batch larger than maxIngestBatch (100 messages, batches of 16)', async (t) => {
    const te = createTestEngine(t, { engine: { maxIngestBatch: 16 } })
    const feed = messagesOf(buildFeed(alice, 100))
    const results = await te.engine.ingestMany(feed)
    assert.equal(results.length, 100)
    results.forEach((r) => expectStored(r, true))
    const ids = results.map((r) => (r.status === 'stored' ? r.id : -1))
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => x - y),
    )
    assert.equal(te.store.contiguousSequence(alice.id), 100)
    assert.equal(te.events.length, 100)
  })

  it('returns no results for an empty batch', async (t) => {
    const te = createTestEngine(t)
    assert.deepEqual(await te.engine.ingestMany([]), [])
  })

  it('emits one event per stored message carrying the origin, and none for duplicates or rejections', async (t) => {
    const te = createTestEngine(t)
    const feed = messagesOf(buildFeed(alice, 2))
    const results = await te.engine.ingestMany(
      [at(feed, 0), at(feed, 0), signAt(alice, { sequence: 0 }).message, at(feed, 1)],
      { origin: '@peer.ed25519' },
    )
    const storedIds = results.flatMap((r) => (r.status === 'stored' ? [r.id] : []))
    assert.equal(te.events.length, 2)
    assert.deepEqual(
      te.events.map((e: MessageEvent) => [
        e.id,
        e.sequence,
        e.author,
        e.origin,
        e.contentType,
        e.chainValid,
      ]),
      [
        [storedIds[0], 1, alice.id, '@peer.ed25519', 'note', true],
        [storedIds[1], 2, alice.id, '@peer.ed25519', 'note', true],
      ],
    )
    assert.equal(at(te.events, 1).wireText, te.store.messageByHash(at(feed, 1).hash)?.wireText)
    await te.engine.ingest(signAt(bob, { sequence: 1 }).message)
    assert.equal(at(te.events, 2).origin, null)
  })

  it('gives the same outcomes with a verifier pool (1 thread) as inline', async (t) => {
    const feed = messagesOf(buildFeed(alice, 6))
    const batch: Message[] = [
      at(feed, 2),
      at(feed, 0),
      at(feed, 0),
      tamper(at(feed, 1), { signature: signatureOver(at(feed, 1).hash, bob) }),
      tamper(at(feed, 4), { author: OFF_CURVE_AUTHOR }),
      tamper(at(feed, 4), { signature: 'AAAA' }),
      tamper(at(feed, 4), { content: 'x' }),
      at(feed, 1),
      signAt(alice, { sequence: 2, previous: HASH_F }).message,
      at(feed, 5),
      signAt(alice, { sequence: 3, content: 'rival' }).message,
    ]
    const inline = createTestEngine(t)
    const pooled = createTestEngine(t, { pool: 1 })
    const expected = await inline.engine.ingestMany(batch, { origin: 'p' })
    const actual = await pooled.engine.ingestMany(batch, { origin: 'p' })
    assert.deepEqual(actual, expected)
    assert.deepEqual(chainRows(pooled.db, alice.id), chainRows(inline.db, alice.id))
    assert.deepEqual(
      pooled.events.map((e) => [e.sequence, e.chainValid]),
      inline.events.map((e) => [e.sequence, e.chainValid]),
    )
    // Also across several pool chunks of more than the pool's inline threshold.
    const more = messagesOf(buildFeed(bob, 64))
    const r1 = await inline.engine.ingestMany(more)
    const r2 = await pooled.engine.ingestMany(more)
    assert.deepEqual(r2, r1)
  })

  it(
    'commits the batches of one ingestMany call in input order with a verifier pool',
    {},
    async (t) => {
      const feed = messagesOf(buildFeed(alice, 19))
      const inline = createTestEngine(t, { engine: { maxIngestBatch: 16 } })
      const pooled = createTestEngine(t, { pool: 1, engine: { maxIngestBatch: 16 } })
      const expected = await inline.engine.ingestMany(feed)
      const actual = await pooled.engine.ingestMany(feed)
      assert.deepEqual(
        actual.map((r) => (r.status === 'stored' ? r.chainValid : r.status)),
        expected.map((r) => (r.status === 'stored' ? r.chainValid : r.status)),
      )
      assert.deepEqual(
        pooled.events.map((e) => e.sequence),
        feed.map((m) => m.sequence),
      )
    },
  )
})
