/**
 * What the node's interfaces can do, independent of transport: REST routes and MCP tools both
 * call this (PROTOCOL.md §7.4, §7.7). Inputs are validated here with API error codes.
 */
import { isFeedId, isMessageHash, toBase64, type FeedId, type JsonValue } from '../codec/index.js'
import { toX25519PublicKey } from '../crypto/index.js'
import type { FeedEngine, PublishResult, StoredMessage } from '../feed/index.js'
import { ApiError } from '../http/index.js'
import type { MessageStore, SearchPage, StateStore } from '../store/index.js'
import { meshEntries, type MeshEntry } from './mesh.js'

/** Live facts the service reports but does not own (ports are known after binding). */
export interface NodeInfo {
  readonly version: string
  httpPort(): number
  gossipPort(): number
  /** `--peer` addresses. */
  readonly cliPeers: readonly string[]
  readonly startedAtMs: number
  /** Sync interval in seconds (mesh status bands, §4.12). */
  readonly syncIntervalSecs: number
}

export interface ServiceDeps {
  readonly engine: FeedEngine
  readonly store: MessageStore
  readonly state: StateStore
  readonly info: NodeInfo
  readonly clock?: { now(): number }
  /** A peer was added through the API: sync it now rather than at the next cycle. */
  readonly onPeerAdded?: (address: string) => void
}

/** The status object of §7.4, keys in order. */
export interface Status {
  version: string
  identity: string
  port: number
  gossip_port: number
  peer_count: number
  message_count: number
  feed_count: number
  follow_count: number
  uptime_secs: number
}

export interface PeerEntry {
  address: string
  public_id: string | null
  source: 'cli' | 'manual' | 'lan' | 'known'
}

export interface ListOptions {
  readonly limit?: number
  readonly offset?: number
  readonly contentType?: string
}

/** Per-peer last sync and feeds with gaps: the sync view of `egregore_status` (docs/api). */
export interface SyncView {
  peers: {
    address: string
    public_id: string | null
    source: string
    last_connected: string | null
    last_synced: string | null
  }[]
  feeds_with_gaps: { author: string; latest_sequence: number; contiguous_sequence: number }[]
}

export type NodeService = ReturnType<typeof createNodeService>

/** Check a public ID from a path, query or tool argument (format check of §2.2). */
export function requireAuthor(author: string | undefined): FeedId {
  if (author === undefined || !isFeedId(author)) {
    throw new ApiError('INVALID_AUTHOR', 'author must be in @<base64>.ed25519 format')
  }
  return author
}

/** Address validation of §7.4: split at the last ':'; port 0–65535; non-empty host. */
export function requireAddress(address: unknown): string {
  if (typeof address !== 'string')
    throw new ApiError('INVALID_ADDRESS', 'address must be in host:port format')
  const colon = address.lastIndexOf(':')
  const host = colon < 0 ? '' : address.slice(0, colon)
  const port = colon < 0 ? '' : address.slice(colon + 1)
  if (host === '' || !/^\d{1,5}$/.test(port) || Number(port) > 65535) {
    throw new ApiError('INVALID_ADDRESS', 'address must be in host:port format')
  }
  return address
}

export function createNodeService(deps: ServiceDeps) {
  const { engine, store, state, info } = deps
  const clock = deps.clock ?? Date
  const self = engine.identity.id
  const x25519 = toX25519PublicKey(engine.identity.publicKey)

  const peers = (): PeerEntry[] => {
    const out: PeerEntry[] = []
    const seen = new Set<string>()
    const add = (e: PeerEntry): void => {
      if (seen.has(e.address)) return
      seen.add(e.address)
      out.push(e)
    }
    for (const address of info.cliPeers) add({ address, public_id: null, source: 'cli' })
    for (const p of state.listPeers())
      add({ address: p.address, public_id: p.publicId, source: p.source })
    for (const k of state.listKnownPeersWithAddress()) {
      if (k.address !== null) add({ address: k.address, public_id: k.publicId, source: 'known' })
    }
    return out
  }

  return {
    status(): Status {
      const counts = store.counts()
      return {
        version: info.version,
        identity: self,
        port: info.httpPort(),
        gossip_port: info.gossipPort(),
        peer_count: peers().length,
        message_count: counts.messageCount,
        feed_count: counts.feedCount,
        follow_count: counts.followCount,
        uptime_secs: Math.max(0, Math.floor((clock.now() - info.startedAtMs) / 1000)),
      }
    },
    identity(): { public_id: string; x25519_public: string } {
      return { public_id: self, x25519_public: x25519 === null ? '' : toBase64(x25519) }
    },
    publish: (content: JsonValue): Promise<PublishResult> => engine.publish(content),
    feed(o: ListOptions & { includeSelf?: boolean }): StoredMessage[] {
      return store.queryFeed({
        ...pick(o),
        ...(o.includeSelf === true ? {} : { excludeAuthor: self }),
      })
    },
    feedByAuthor(author: string | undefined, o: ListOptions): StoredMessage[] {
      return store.queryFeed({ ...pick(o), author: requireAuthor(author) })
    },
    insights(o: ListOptions): StoredMessage[] {
      return store.queryFeed({ ...pick(o), contentType: 'insight' })
    },
    search(text: string, o: ListOptions & { author?: string }): SearchPage {
      return store.searchPage({
        text,
        ...pick(o),
        ...(o.author === undefined ? {} : { author: requireAuthor(o.author) }),
      })
    },
    message(hash: string | undefined): StoredMessage {
      const m = hash !== undefined && isMessageHash(hash) ? store.messageByHash(hash) : undefined
      if (m === undefined) throw new ApiError('NOT_FOUND', 'message not found')
      return m
    },
    peers,
    addPeer(address: unknown): PeerEntry {
      const row = state.addManualPeer(requireAddress(address))
      deps.onPeerAdded?.(row.address)
      return { address: row.address, public_id: row.publicId, source: 'manual' }
    },
    removePeer(address: unknown): void {
      state.removePeer(requireAddress(address))
    },
    follows: (): string[] => state.listFollows(),
    follow(author: string | undefined): string {
      const id = requireAuthor(author)
      state.follow(id)
      return id
    },
    unfollow(author: string | undefined): string {
      const id = requireAuthor(author)
      state.unfollow(id)
      return id
    },
    mesh(): { local: Status; peers: MeshEntry[] } {
      return {
        local: this.status(),
        peers: meshEntries(state.listHealth(), clock.now(), info.syncIntervalSecs),
      }
    },
    syncView(): SyncView {
      const byAddress = new Map(state.listPeers().map((p) => [p.address, p]))
      return {
        peers: peers().map((p) => ({
          address: p.address,
          public_id: p.public_id,
          source: p.source,
          last_connected: byAddress.get(p.address)?.lastConnected ?? null,
          last_synced: byAddress.get(p.address)?.lastSynced ?? null,
        })),
        feeds_with_gaps: store
          .feedSummaries()
          .filter((f) => f.latestSequence > f.contiguousSequence)
          .map((f) => ({
            author: f.author,
            latest_sequence: f.latestSequence,
            contiguous_sequence: f.contiguousSequence,
          })),
      }
    },
  }
}

function pick(o: ListOptions): { limit?: number; offset?: number; contentType?: string } {
  const out: { limit?: number; offset?: number; contentType?: string } = {}
  if (o.limit !== undefined) out.limit = o.limit
  if (o.offset !== undefined) out.offset = o.offset
  if (o.contentType !== undefined) out.contentType = o.contentType
  return out
}
