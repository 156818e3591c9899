/**
 * A hostile gossip peer for integration tests (PROTOCOL.md §3–§4): a genuine handshake and the
 * real codec, but documents written as any text, sessions scripted step by step as server or
 * client, a raw client that frames by hand, and wire-text edits that break genuine messages.
 */
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import type { TestContext } from 'node:test'
import { utf8 } from '../../src/codec/index.js'
import {
  createBoxEncryptor,
  createHandshake,
  encodeMessage,
  type Identity,
} from '../../src/crypto/index.js'
import type { SignedMessage } from '../../src/feed/index.js'
import {
  dialSecure,
  listenSecure,
  runHandshake,
  type SecureConnection,
} from '../../src/net/index.js'
import {
  encodeGossipMessage,
  parseGossipMessage,
  type FeedRequest,
  type FeedState,
  type GossipMessage,
  type OutgoingGossipMessage,
  type ReceivedMessage,
  type Want,
} from '../../src/replication/index.js'
import { captureLogger } from '../unit/net/net-helpers.js'
import { signatureOver } from './feeds.js'

/** Who the hostile peer is: its transport identity and the network key K (§3.1). */
export interface HostileIdentity {
  readonly identity: Identity
  readonly networkKey: Uint8Array
}

// ── Breaking genuine messages by editing their wire text (§5.2) ─────────────────────────────────

/** The signature replaced by `forger`'s signature over the same hash (step 6: bad_signature). */
export function forgedSignature(s: SignedMessage, forger: Identity): string {
  return s.wireText.replace(s.message.signature, signatureOver(s.message.hash, forger))
}

/** The content's `text` edited after signing; hash and signature untouched (step 7: bad_hash). */
export function tamperedContent(s: SignedMessage): string {
  const edited = s.wireText.replace(/"text":"[^"]*"/, '"text":"edited after signing"')
  assert.notEqual(edited, s.wireText, 'the message has a text to edit')
  return edited
}

/**
 * The hash field altered. With `resignedBy` (the author) the altered hash is validly signed, so
 * ingest gets past step 6 and fails at step 7 (bad_hash); without, step 6 fails (bad_signature).
 */
export function tamperedHash(s: SignedMessage, resignedBy?: Identity): string {
  const { hash, signature } = s.message
  const altered = (hash.startsWith('0') ? '1' : '0') + hash.slice(1)
  const text = s.wireText.replace(`"hash":"${hash}"`, `"hash":"${altered}"`)
  return resignedBy === undefined
    ? text
    : text.replace(signature, signatureOver(altered, resignedBy))
}

// ── Documents over a real secure connection ─────────────────────────────────────────────────────

export interface Link {
  readonly conn: SecureConnection
  send(doc: OutgoingGossipMessage): Promise<void>
  /** Any text as one application message: what the codec would never write. */
  sendText(text: string): Promise<void>
  receive(): Promise<GossipMessage | null>
  /** `messages` documents until `done` (or close): every message received. */
  receiveUntilDone(): Promise<ReceivedMessage[]>
}

export function linkOf(conn: SecureConnection): Link {
  const receive = async (): Promise<GossipMessage | null> => {
    const bytes = await conn.receive()
    return bytes === null ? null : parseGossipMessage(bytes)
  }
  return {
    conn,
    send: (doc) => conn.send(encodeGossipMessage(doc)),
    sendText: (text) => conn.send(utf8(text)),
    receive,
    async receiveUntilDone() {
      const out: ReceivedMessage[] = []
      for (let doc = await receive(); doc !== null && doc.type !== 'done'; doc = await receive()) {
        assert.equal(doc.type, 'messages', 'only messages before done')
        if (doc.type === 'messages') out.push(...doc.messages)
      }
      return out
    },
  }
}

/** A `messages` document around wire texts, valid or not, spliced in verbatim. */
export const messagesDoc = (texts: readonly string[]): string =>
  `{"type":"messages","messages":[${texts.join(',')}]}`

export const haveOf = (feeds: readonly FeedState[]): OutgoingGossipMessage => ({
  type: 'have',
  feeds,
  peerObservations: [],
  subscribedTopics: [],
})

/** The requests of a want as `[author, afterSequence]` pairs (easy to compare). */
export const afterOf = (want: Want): [string, number][] =>
  want.requests.map((r) => [r.author, r.afterSequence])

const GOODBYE_LOGGED = 'peer said goodbye'

// ── The hostile peer as the server a node dials ─────────────────────────────────────────────────

/** One connection the node made to the hostile server. */
export type Session = (link: Link) => Promise<void>

export interface HostileServer {
  /** `host:port`, for the node's peer list. */
  readonly address: string
  /** Connections the node has made so far. */
  sessions(): number
  /** Goodbyes the node has sent over all of them (the transport logs each). */
  goodbyes(): number
}

/**
 * A hostile gossip server: the node's i-th connection runs `script[i]`; any further connection,
 * or a script that throws, fails the test at teardown.
 */
export async function startHostileServer(
  t: TestContext,
  peer: HostileIdentity,
  script: Session[],
): Promise<HostileServer> {
  const log = captureLogger()
  const failures: unknown[] = []
  let count = 0
  const server = await listenSecure({
    host: '127.0.0.1',
    port: 0,
    identity: peer.identity,
    networkKey: peer.networkKey,
    log,
    onConnection: async (conn) => {
      const session = script[count++]
      try {
        if (session === undefined) throw new Error(`unexpected connection #${count}`)
        await session(linkOf(conn))
      } catch (err) {
        failures.push(err)
        throw err
      }
    },
  })
  t.after(async () => {
    await server.close()
    assert.deepEqual(failures, [], 'every hostile session ran as scripted')
  })
  return {
    address: `127.0.0.1:${server.address().port}`,
    sessions: () => count,
    goodbyes: () => log.entries.filter((e) => e.msg === GOODBYE_LOGGED).length,
  }
}

/** Server steps 1–3 (§4.3): the node's have, our have, the node's want (returned). */
export async function openAsServer(link: Link, feeds: readonly FeedState[]): Promise<Want> {
  assert.equal((await link.receive())?.type, 'have')
  await link.send(haveOf(feeds))
  const want = await link.receive()
  assert.ok(want?.type === 'want', `expected the node's want, got ${want?.type}`)
  return want
}

/** Server steps 4–6: `done`, our want, the node's messages (returned); then goodbye. */
export async function finishAsServer(
  link: Link,
  requests: readonly FeedRequest[] = [],
): Promise<ReceivedMessage[]> {
  await link.send({ type: 'done' })
  await link.send({ type: 'want', requests })
  const received = await link.receiveUntilDone()
  await link.conn.close() // the node's subscribe, if any, is answered by goodbye (pull only)
  return received
}

/** A server session that sends `documents` after the node's want, which it records in `wants`. */
export function serving(feeds: FeedState[], documents: string[], wants: Want[]): Session {
  return async (link) => {
    wants.push(await openAsServer(link, feeds))
    for (const doc of documents) await link.sendText(doc)
    await finishAsServer(link)
  }
}

// ── The hostile peer as a client dialling a node ────────────────────────────────────────────────

export interface ClientLink extends Link {
  /** True once the node has sent a goodbye on this connection. */
  goodbye(): boolean
}

/** Dial a node's gossip port as the hostile peer; destroyed when the test ends. */
export async function dialAsHostile(
  t: TestContext,
  peer: HostileIdentity,
  port: number,
): Promise<ClientLink> {
  const log = captureLogger()
  const conn = await dialSecure({ host: '127.0.0.1', port, ...peer, log })
  t.after(() => conn.destroy())
  return { ...linkOf(conn), goodbye: () => log.entries.some((e) => e.msg === GOODBYE_LOGGED) }
}

/**
 * Client steps 1–5 (§4.3): our have, the node's have, our want, the node's messages (returned)
 * and the node's want (returned).
 */
export async function openAsClient(
  link: Link,
  feeds: readonly FeedState[],
  requests: readonly FeedRequest[] = [],
): Promise<{ received: ReceivedMessage[]; want: Want }> {
  await link.send(haveOf(feeds))
  assert.equal((await link.receive())?.type, 'have')
  await link.send({ type: 'want', requests })
  const received = await link.receiveUntilDone()
  const want = await link.receive()
  assert.ok(want?.type === 'want', `expected the node's want, got ${want?.type}`)
  return { received, want }
}

// ── A raw client: genuine handshake, hand-made frames (§3.5) ────────────────────────────────────

export interface RawClient {
  /** One application message, framed as the spec says. */
  sendMessage(payload: Uint8Array): void
  /** The first `bytes` of `payload` as frames that all say "more follows" (§3.5.3). */
  sendOversized(payload: Uint8Array, bytes: number): void
  /** Resolves when the node has closed the socket. */
  readonly closed: Promise<void>
}

/** A genuine client handshake on a plain socket; frames are then written by hand. */
export async function rawClient(
  t: TestContext,
  peer: HostileIdentity,
  port: number,
): Promise<RawClient> {
  const socket = connect({ host: '127.0.0.1', port })
  socket.on('error', () => undefined) // the node may reset us mid-write: that is the point
  t.after(() => socket.destroy())
  await new Promise<void>((resolve) => socket.once('connect', resolve))
  const { result } = await runHandshake(socket, createHandshake({ role: 'client', ...peer }), {
    readTimeoutMs: 5000,
    timeoutMs: 5000,
  })
  socket.resume() // discard what the node sends; keep reading to see the close
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
  const encryptor = createBoxEncryptor(result.encrypt)
  const frame = (flag: number, chunk: Uint8Array): Uint8Array => {
    const body = new Uint8Array(1 + chunk.length)
    body[0] = flag
    body.set(chunk, 1)
    const sealed = encryptor.sealFrame(body)
    const prefix = new Uint8Array(4)
    new DataView(prefix.buffer).setUint32(0, sealed.length)
    return Buffer.concat([prefix, sealed])
  }
  return {
    sendMessage: (payload) => void socket.write(encodeMessage(encryptor, payload)),
    sendOversized(payload, bytes) {
      for (let offset = 0; offset < bytes; offset += 4095)
        socket.write(frame(0x01, payload.subarray(offset, offset + 4095)))
    },
    closed,
  }
}
