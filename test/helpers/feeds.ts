/**
 * Test helpers for the feed engine and the SQLite store: a real engine over a real database
 * (in memory or in a temp file) with teardown registered on the test, identities from fixed
 * seeds, and hand-built signed feeds and tampered messages for ingest tests.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { TestContext } from 'node:test'
import {
  fromPlainJson,
  parseTimestamp,
  timestampFromMillis,
  toBase64,
  utf8,
  type Timestamp,
} from '../../src/codec/index.js'
import {
  createInlineVerifier,
  createVerifierPool,
  identityFromSeed,
  sign,
  type Identity,
  type SignatureVerifier,
} from '../../src/crypto/index.js'
import {
  createFeedEngine,
  signMessage,
  type FeedEngine,
  type FeedEngineOptions,
  type Message,
  type MessageEvent,
  type SignedMessage,
} from '../../src/feed/index.js'
import {
  createMessageStore,
  openDatabase,
  type Db,
  type MessageStore,
} from '../../src/store/index.js'

/** 2026-01-01T00:00:00Z: the default first timestamp of built feeds. */
export const BASE_MS = Date.UTC(2026, 0, 1)

/** An identity from a 32-byte seed filled with `seedByte`. */
export function testIdentity(seedByte: number): Identity {
  return identityFromSeed(new Uint8Array(32).fill(seedByte))
}

export interface TestEngineOptions {
  /** Seed byte of the engine's own identity (default 1). */
  readonly seedByte?: number
  /** Verify on a worker pool: `true` for one thread, or a thread count. Default inline. */
  readonly pool?: boolean | number
  /** Use a database file in a fresh temp dir instead of `:memory:`. */
  readonly file?: boolean
  /** Options passed to `createFeedEngine`. */
  readonly engine?: FeedEngineOptions
  /** Clock injected into the engine. */
  readonly clock?: { now(): number }
}

export interface TestEngine {
  readonly engine: FeedEngine
  readonly store: MessageStore
  readonly db: Db
  readonly identity: Identity
  readonly verifier: SignatureVerifier
  /** Every event the engine emitted, in emission order. */
  readonly events: MessageEvent[]
  /** The database file, or `:memory:`. */
  readonly path: string
  /** Close engine, database and verifier, and remove the temp dir. Idempotent. */
  close(): Promise<void>
}

/** Open an engine without a test context (property runs); the caller must `close()` it. */
export function openTestEngine(options: TestEngineOptions = {}): TestEngine {
  const dir = options.file === true ? mkdtempSync(join(tmpdir(), 'egregore-feed-test-')) : null
  const path = dir === null ? ':memory:' : join(dir, 'egregore.db')
  const db = openDatabase(path)
  const store = createMessageStore(db)
  const identity = testIdentity(options.seedByte ?? 1)
  const threads = typeof options.pool === 'number' ? options.pool : options.pool === true ? 1 : 0
  const verifier = threads > 0 ? createVerifierPool({ threads }) : createInlineVerifier()
  const engine = createFeedEngine(
    { store, identity, verifier, ...(options.clock === undefined ? {} : { clock: options.clock }) },
    options.engine ?? {},
  )
  const events: MessageEvent[] = []
  engine.onMessage((e) => events.push(e))
  let closed = false
  return {
    engine,
    store,
    db,
    identity,
    verifier,
    events,
    path,
    async close() {
      if (closed) return
      closed = true
      await engine.close()
      db.close()
      await verifier.close()
      if (dir !== null) rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** Open an engine whose teardown runs after the test (`t.after`). */
export function createTestEngine(t: TestContext, options: TestEngineOptions = {}): TestEngine {
  const te = openTestEngine(options)
  t.after(() => te.close())
  return te
}

/** Fields of a message to sign by hand; anything left out gets a sensible default. */
export interface SignFields {
  readonly sequence: number
  readonly previous?: string | null
  /** Canonical or any accepted RFC 3339 text, or Unix milliseconds. */
  readonly timestamp?: string | number
  /** Plain JS (converted with `fromPlainJson`: whole numbers become integers); `null` is kept. */
  readonly content?: unknown
}

function toTimestamp(ts: string | number): Timestamp {
  return typeof ts === 'number' ? timestampFromMillis(ts) : parseTimestamp(ts)
}

/** Sign a message with arbitrary (possibly invalid) structure: nothing is checked. */
export function signAt(identity: Identity, fields: SignFields): SignedMessage {
  return signMessage(
    {
      author: identity.id,
      sequence: fields.sequence,
      previous: fields.previous ?? null,
      timestamp: toTimestamp(fields.timestamp ?? BASE_MS + fields.sequence * 1000),
      content: fromPlainJson(
        fields.content === undefined
          ? { type: 'note', text: `message ${fields.sequence}` }
          : fields.content,
      ),
    },
    identity,
  )
}

export interface BuildFeedOptions {
  /** Timestamp of message 1 (default BASE_MS). */
  readonly startMs?: number
  /** Milliseconds between consecutive messages (default 1000). */
  readonly stepMs?: number
  /** Content of message `sequence`, plain JS (default `{ type: 'note', text: 'message N' }`). */
  readonly contentFn?: (sequence: number) => unknown
}

/** Messages 1..n of `identity`'s feed, properly chained, with increasing timestamps. */
export function buildFeed(
  identity: Identity,
  n: number,
  options: BuildFeedOptions = {},
): SignedMessage[] {
  const startMs = options.startMs ?? BASE_MS
  const stepMs = options.stepMs ?? 1000
  const out: SignedMessage[] = []
  let previous: string | null = null
  for (let sequence = 1; sequence <= n; sequence++) {
    const signed = signAt(identity, {
      sequence,
      previous,
      timestamp: startMs + (sequence - 1) * stepMs,
      content:
        options.contentFn === undefined
          ? { type: 'note', text: `message ${sequence}` }
          : options.contentFn(sequence),
    })
    out.push(signed)
    previous = signed.message.hash
  }
  return out
}

/** The `message` of each signed message. */
export function messagesOf(feed: readonly SignedMessage[]): Message[] {
  return feed.map((s) => s.message)
}

/** Element `index` of a list, failing loudly when absent (keeps tests free of `!`). */
export function at<T>(list: readonly T[], index: number): T {
  const v = list[index]
  if (v === undefined) throw new RangeError(`no element at index ${index} (length ${list.length})`)
  return v
}

/** A base64 Ed25519 signature of `hash` (as ASCII) by `identity`: a valid signature over any claim. */
export function signatureOver(hash: string, identity: Identity): string {
  return toBase64(sign(identity, utf8(hash)))
}

/** A copy of `message` with some fields replaced (hash and signature are left as they were). */
export function tamper(message: Message, patch: Partial<Message>): Message {
  return { ...message, ...patch }
}

/** A copy of `message` whose claimed hash is `hash`, re-signed by `identity` so the signature holds. */
export function withClaimedHash(message: Message, hash: string, identity: Identity): Message {
  return { ...message, hash, signature: signatureOver(hash, identity) }
}

/** One row of the `messages` table as ingest tests look at it. */
export interface ChainRow {
  readonly sequence: number
  readonly hash: string
  readonly chainValid: boolean
}

/** The stored messages of `author`, ascending by sequence, read straight from SQLite. */
export function chainRows(db: Db, author: string): ChainRow[] {
  const rows = db
    .prepare('SELECT sequence, hash, chain_valid FROM messages WHERE author = ? ORDER BY sequence')
    .all(author) as { sequence: number; hash: string; chain_valid: number }[]
  return rows.map((r) => ({ sequence: r.sequence, hash: r.hash, chainValid: r.chain_valid === 1 }))
}
