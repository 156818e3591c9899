/**
 * The pull exchange (PROTOCOL.md §4.3–4.6) over an abstract document channel: have → have →
 * want → messages… → done, in both directions. Knows no sockets; node/ hands it a channel.
 */
import {
  BATCH_FLUSH_BYTES,
  BATCH_MESSAGE_OVERHEAD_BYTES,
  BATCH_START_BYTES,
  MAX_MESSAGES_PER_CONNECTION,
  MAX_WANT_REQUESTS,
  PULL_INGEST_BATCH,
  SERVE_PAGE_SIZE,
  isFeedId,
  utf8Length,
} from '../codec/index.js'
import { EgregoreError } from '../errors.js'
import type { FeedStore, IngestResult, Message } from '../feed/index.js'
import type { Logger } from '../log.js'
import type {
  PeerObservation,
  FeedRequest,
  GossipMessage,
  Have,
  OutgoingGossipMessage,
  WireMessageText,
} from './gossip-types.js'

/** Documents to and from one peer. `receive` gives `null` when the peer closed (goodbye/EOF). */
export interface DocumentChannel {
  send(doc: OutgoingGossipMessage): Promise<void>
  receive(): Promise<GossipMessage | null>
}

export interface PullDeps {
  readonly feeds: FeedStore
  /** The engine's batched ingest; `origin` is the peer identity. */
  readonly ingest: (messages: readonly Message[], origin: string) => Promise<IngestResult[]>
  /** The follow filter, read once per exchange (§4.9); must fail closed on errors. */
  readonly followFilter: () => (author: string) => boolean
  /** Mesh health (§4.12): what our `have` carries, and what to do with the peer's. */
  readonly observations?: {
    ours(): PeerObservation[]
    merge(reporter: string, observations: readonly PeerObservation[]): void
  }
  readonly log: Logger
}

/** What one exchange did; `moreAvailable` asks the sync loop for an immediate catch-up (§4.10). */
export interface PullOutcome {
  readonly sent: number
  readonly considered: number
  /** Messages stored; in pipelined mode, those stored by the time the exchange ended. */
  readonly stored: number
  readonly moreAvailable: boolean
  /**
   * Pipelined mode only: resolves with the number stored once this exchange's ingest has
   * committed (rejects with a store error), and the last sequence received in order per author,
   * which the next round's wants may start from (see `runPullClient`).
   */
  readonly settled?: Promise<number>
  readonly received?: ReadonlyMap<string, number>
  /** Pipelined mode: whether the peer's `have` still advertises more than the store holds. */
  readonly behind?: () => boolean
}

function protocolError(phase: string, got: GossipMessage | null): EgregoreError {
  return new EgregoreError(
    'DECODE_ERROR',
    `pull exchange (${phase}): unexpected ${got === null ? 'close' : `'${got.type}'`}`,
  )
}

/** Our `have` (§4.3.1): every feed we hold, without follow filtering, and our observations. */
export function buildHave(
  feeds: FeedStore,
  observations: readonly PeerObservation[] = [],
): OutgoingGossipMessage {
  return {
    type: 'have',
    feeds: feeds
      .feedSummaries()
      .map((f) => ({ author: f.author, latestSequence: f.latestSequence })),
    peerObservations: observations,
    subscribedTopics: [],
  }
}

/** Wants from the peer's `have` (§4.4): contiguous-based, so gaps are backfilled. */
export function computeWants(
  have: Have,
  feeds: FeedStore,
  passes: (author: string) => boolean,
  received?: ReadonlyMap<string, number>,
): FeedRequest[] {
  const seen = new Set<string>()
  const out: FeedRequest[] = []
  for (const f of have.feeds) {
    if (seen.has(f.author) || !isFeedId(f.author) || !passes(f.author)) continue
    seen.add(f.author)
    // `received`: sequences an earlier round of this sync is still ingesting (pipelined catch-up).
    const ours = Math.max(feeds.contiguousSequence(f.author), received?.get(f.author) ?? 0)
    if (f.latestSequence > ours) out.push({ author: f.author, afterSequence: ours })
    if (out.length === MAX_WANT_REQUESTS) break
  }
  return out
}

/** Serve a want (§4.5): pages of 50, batches under 3800 bytes, at most 10000 messages; then done. */
export async function serveWant(
  channel: DocumentChannel,
  requests: readonly FeedRequest[],
  feeds: FeedStore,
): Promise<number> {
  let sent = 0
  for (const r of requests.slice(0, MAX_WANT_REQUESTS)) {
    if (!isFeedId(r.author)) continue
    let after = r.afterSequence
    for (;;) {
      const page = feeds.messagesAfter(r.author, after, SERVE_PAGE_SIZE)
      let batch: WireMessageText[] = []
      let size = BATCH_START_BYTES
      for (const m of page) {
        const bytes = utf8Length(m.wireText) + BATCH_MESSAGE_OVERHEAD_BYTES
        if (batch.length > 0 && size + bytes > BATCH_FLUSH_BYTES) {
          await channel.send({ type: 'messages', messages: batch })
          batch = []
          size = BATCH_START_BYTES
        }
        batch.push({ wireText: m.wireText })
        size += bytes
      }
      if (batch.length > 0) await channel.send({ type: 'messages', messages: batch })
      sent += page.length
      const last = page.at(-1)
      if (
        last === undefined ||
        page.length < SERVE_PAGE_SIZE ||
        sent >= MAX_MESSAGES_PER_CONNECTION
      )
        break
      after = last.sequence
    }
    if (sent >= MAX_MESSAGES_PER_CONNECTION) break
  }
  await channel.send({ type: 'done' })
  return sent
}

/**
 * Batched ingest for one exchange: batches verify and commit while reading goes on (at most
 * two in flight). A failed batch (a store error) is held and rethrown in order by `throttle`
 * or `settle`, so no ingest can fail later as an unhandled rejection.
 */
function createIngestQueue(deps: PullDeps, peerId: string) {
  let pending: Message[] = []
  let stored = 0
  let failure: { readonly err: unknown } | null = null
  const inFlight: Promise<void>[] = []
  const flush = (): void => {
    if (pending.length === 0 || failure !== null) return
    const batch = pending
    pending = []
    inFlight.push(
      deps.ingest(batch, peerId).then(
        (results) => {
          for (const r of results) {
            if (r.status === 'stored') stored++
            else if (r.status === 'rejected')
              deps.log.info({ peer: peerId, reason: r.reason }, `rejected message: ${r.detail}`)
          }
        },
        (err: unknown) => void (failure ??= { err }),
      ),
    )
  }
  const rethrow = (): void => {
    if (failure !== null) throw failure.err
  }
  return {
    add(message: Message): void {
      pending.push(message)
      if (pending.length >= PULL_INGEST_BATCH) flush()
    },
    async throttle(): Promise<void> {
      if (inFlight.length > 1) await inFlight.shift() // two batches in flight bound memory
      rethrow()
    },
    /** Ingest what is pending and wait for every batch; throws the first failure. */
    async settle(): Promise<void> {
      flush()
      await Promise.all(inFlight.splice(0))
      rethrow()
    },
    stored: () => stored,
  }
}

/**
 * Receive messages until `done` (§4.6): only authors we asked for are ingested; at most 10000
 * are considered. When reading fails (a decode or protocol error, a broken connection), what
 * arrived before is still ingested, and all ingest has settled before the error is rethrown.
 */
export async function receiveMessages(
  channel: DocumentChannel,
  wanted: ReadonlySet<string>,
  deps: PullDeps,
  peerId: string,
  options: {
    /** Author → next sequence expected; advanced while messages arrive in order. */
    readonly progress?: Map<string, number>
    /** Return at `done` without waiting for the last batches; `settled` tracks them. */
    readonly defer?: boolean
  } = {},
): Promise<{
  considered: number
  stored: number
  capped: boolean
  closed: boolean
  settled: Promise<number>
}> {
  const ingest = createIngestQueue(deps, peerId)
  const progress = options.progress
  let considered = 0
  let dropped = 0
  let closed = false
  try {
    for (;;) {
      const doc = await channel.receive()
      if (doc === null) {
        closed = true
        break
      }
      if (doc.type === 'done') break
      if (doc.type !== 'messages') throw protocolError('receiving messages', doc)
      for (const { message } of doc.messages) {
        if (considered >= MAX_MESSAGES_PER_CONNECTION) break
        considered++
        if (!wanted.has(message.author)) {
          dropped++ // a peer cannot push feeds we did not ask for (Appendix A.1 #4)
          continue
        }
        ingest.add(message)
        if (progress?.get(message.author) === message.sequence)
          progress.set(message.author, message.sequence + 1)
      }
      await ingest.throttle()
    }
  } catch (err) {
    // Messages read before the error are as valid as any: ingest them, then report the error.
    await ingest.settle().catch(() => undefined) // the reading error is the one to report
    throw err
  }
  if (dropped > 0)
    deps.log.debug({ peer: peerId, dropped }, 'dropped messages of authors we did not request')
  const settled = ingest.settle().then(() => ingest.stored())
  if (options.defer !== true) await settled
  else settled.catch(() => undefined) // the caller awaits it; never an unhandled rejection
  const capped = considered >= MAX_MESSAGES_PER_CONNECTION
  return { considered, stored: ingest.stored(), capped, closed, settled }
}

function stillBehind(have: Have, feeds: FeedStore, passes: (a: string) => boolean): boolean {
  return computeWants(have, feeds, passes).length > 0
}

/**
 * The dialling side (§4.3 client steps 1–5). Throws on protocol errors; the caller closes.
 *
 * Pipelined mode (`pipeline`): the exchange returns at the peer's `done` while its last ingest
 * batches still verify and commit (`settled`), and reports the sequences received in order per
 * author (`received`). A catch-up round passes them back as `received`, so it can start before the
 * previous round has committed without asking for those messages again. Messages that then fail
 * to store leave a gap that the next sync cycle (wants from the store alone) backfills.
 */
export async function runPullClient(
  channel: DocumentChannel,
  deps: PullDeps,
  peerId: string,
  options: { readonly pipeline?: boolean; readonly received?: ReadonlyMap<string, number> } = {},
): Promise<PullOutcome> {
  const passes = deps.followFilter()
  await channel.send(buildHave(deps.feeds, deps.observations?.ours()))
  const theirs = await channel.receive()
  if (theirs === null) throw new EgregoreError('CLOSED', 'peer closed before have')
  if (theirs.type !== 'have') throw protocolError('awaiting have', theirs)
  deps.observations?.merge(peerId, theirs.peerObservations)
  const wants = computeWants(theirs, deps.feeds, passes, options.received)
  await channel.send({ type: 'want', requests: wants })
  const progress = new Map(wants.map((w) => [w.author, w.afterSequence + 1]))
  const got = await receiveMessages(channel, new Set(progress.keys()), deps, peerId, {
    progress,
    defer: options.pipeline === true,
  })
  let sent = 0
  if (!got.closed) {
    const next = await channel.receive()
    if (next !== null) {
      if (next.type !== 'want') throw protocolError('awaiting want', next)
      sent = await serveWant(channel, next.requests, deps.feeds)
    }
  }
  const received = new Map(options.received)
  let advanced = false
  for (const w of wants) {
    const last = (progress.get(w.author) ?? 0) - 1
    if (last > w.afterSequence) advanced = true
    received.set(w.author, Math.max(received.get(w.author) ?? 0, last))
  }
  const stored = options.pipeline === true ? got.stored : await got.settled
  return {
    sent,
    considered: got.considered,
    stored,
    // A round that brought nothing new would only repeat itself: a peer advertising what it never
    // serves (or cannot: both of us miss the start of a feed) is not redialled at once (§4.10).
    // Pipelined, only the 10,000-message cap starts the next round before this one commits;
    // whether the peer still has more is asked of the store afterwards (`behind`).
    moreAvailable:
      options.pipeline === true
        ? advanced && got.capped
        : stored > 0 && (got.capped || stillBehind(theirs, deps.feeds, passes)),
    ...(options.pipeline === true
      ? {
          settled: got.settled,
          received,
          behind: () => stillBehind(theirs, deps.feeds, passes),
        }
      : {}),
  }
}

/** The accepting side (§4.3 server steps 1–5). Returns `null` when the client closed at once. */
export async function runPullServer(
  channel: DocumentChannel,
  deps: PullDeps,
  peerId: string,
): Promise<PullOutcome | null> {
  const passes = deps.followFilter()
  const theirs = await channel.receive()
  if (theirs === null) return null // a discovery verification dial (§8.3): a quiet close
  if (theirs.type !== 'have') throw protocolError('awaiting have', theirs)
  deps.observations?.merge(peerId, theirs.peerObservations)
  await channel.send(buildHave(deps.feeds, deps.observations?.ours()))
  const want = await channel.receive()
  if (want === null) return { sent: 0, considered: 0, stored: 0, moreAvailable: false }
  if (want.type !== 'want') throw protocolError('awaiting want', want)
  const sent = await serveWant(channel, want.requests, deps.feeds)
  const wants = computeWants(theirs, deps.feeds, passes)
  await channel.send({ type: 'want', requests: wants })
  const got = await receiveMessages(channel, new Set(wants.map((w) => w.author)), deps, peerId)
  return { sent, considered: got.considered, stored: got.stored, moreAvailable: false }
}
