/**
 * UDP LAN discovery (PROTOCOL.md §8.2, §8.3): one broadcast-capable socket that announces our
 * gossip port in bursts, and turns announcements from others into verified `lan` peers.
 */
import { createSocket, type Socket } from 'node:dgram'
import {
  LAN_BURST_LENGTH_MS,
  LAN_BURST_PERIOD_MS,
  LAN_COOLDOWN_MS,
  LAN_MAX_TRACKED_ADDRESSES,
  LAN_QUIET_MS,
  LAN_RECEIVE_ERROR_BACKOFF_MS,
  LAN_VERIFY_TIMEOUT_MS,
} from '../codec/index.js'
import { lanDiscriminator, type Identity } from '../crypto/index.js'
import type { Logger } from '../log.js'
import { dialSecure, type SecureConnection } from '../net/index.js'
import {
  encodeAnnouncement,
  parseAnnouncement,
  toCandidateAddress,
  type AnnouncementFilter,
} from '../replication/index.js'

/** Timer functions (injected by tests to run the schedule without waiting). */
export interface DiscoveryTimers {
  setTimeout(fn: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** An accepted announcement awaiting its verification dial. */
export interface DiscoveryCandidate {
  readonly host: string
  readonly port: number
  /** The announced public ID the dial must authenticate. */
  readonly publicId: string
}

export interface DiscoveryDeps {
  readonly identity: Identity
  /** K = SHA-256(network key string) (§3.1): keys the dial; its discriminator goes in announcements. */
  readonly networkKey: Uint8Array
  /** Insert-or-ignore a verified address with source `lan` (§8.3 step 6). */
  readonly addLanPeer: (address: string) => void
  readonly log: Logger
  readonly clock?: { now(): number }
  readonly timers?: DiscoveryTimers
  /** The verification dial (§8.3 step 5); default {@link verifyByDial}. True: store the address. */
  readonly verify?: (candidate: DiscoveryCandidate, signal: AbortSignal) => Promise<boolean>
}

export interface DiscoveryConfig {
  /** UDP port bound on 0.0.0.0 and sent to; 0 lets the OS choose (then we send to that port). */
  readonly port: number
  /** Where announcements go: `255.255.255.255` by default, a subnet broadcast in tests. */
  readonly address: string
  /** Our bound gossip port, read at each announcement. */
  readonly gossipPort: () => number
}

export interface Discovery {
  /** The bound UDP port. */
  port(): number
  /** Close the socket, cancel timers and abort verification dials; idempotent. */
  stop(): Promise<void>
}

const realTimers: DiscoveryTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
}

/**
 * The per-address cooldown of §8.3 step 4: `admit` records a key and returns true unless it was
 * recorded less than `windowMs` ago; when `maxEntries` keys are held, expired ones are dropped
 * first, and if none expired the new key is refused.
 */
export function createCooldown(
  windowMs = LAN_COOLDOWN_MS,
  maxEntries = LAN_MAX_TRACKED_ADDRESSES,
): { admit(key: string, nowMs: number): boolean; size(): number } {
  const seen = new Map<string, number>()
  return {
    admit(key, nowMs) {
      const at = seen.get(key)
      if (at !== undefined && nowMs - at < windowMs) return false
      if (at === undefined && seen.size >= maxEntries) {
        for (const [k, t] of seen) if (nowMs - t >= windowMs) seen.delete(k)
        if (seen.size >= maxEntries) return false
      }
      seen.set(key, nowMs)
      return true
    },
    size: () => seen.size,
  }
}

/**
 * The verification dial (§8.3 step 5, §8.4): connect and complete the handshake as client, then
 * a goodbye without any `have`, all within 5 s. True when the authenticated identity is the
 * announced one; a failed dial is false (and logged by `dialSecure`), never a throw.
 */
export async function verifyByDial(
  deps: Pick<DiscoveryDeps, 'identity' | 'networkKey' | 'log'>,
  candidate: DiscoveryCandidate,
  signal: AbortSignal,
): Promise<boolean> {
  const started = Date.now()
  const remaining = (): number => Math.max(1, LAN_VERIFY_TIMEOUT_MS - (Date.now() - started))
  let conn: SecureConnection
  try {
    conn = await dialSecure({
      host: candidate.host,
      port: candidate.port,
      identity: deps.identity,
      networkKey: deps.networkKey,
      timeoutMs: LAN_VERIFY_TIMEOUT_MS,
      connectTimeoutMs: LAN_VERIFY_TIMEOUT_MS,
      readTimeoutMs: LAN_VERIFY_TIMEOUT_MS,
      signal,
      log: deps.log,
    })
  } catch {
    return false // dialSecure has logged why
  }
  const verified = conn.remoteId === candidate.publicId
  if (!verified) {
    deps.log.info(
      { announced: candidate.publicId, actual: conn.remoteId },
      'LAN announcement names another identity than the one that answered: not stored',
    )
  }
  // The handshake is all we wanted; a slow goodbye does not undo it, so its failure is ignored.
  const closing = conn.close().catch(() => undefined)
  const timer = setTimeout(() => conn.destroy(), remaining()).unref()
  await closing
  clearTimeout(timer)
  return verified
}

/** Bind the socket (§8.2): 0.0.0.0:<port>, address reuse, SO_BROADCAST. */
async function bindSocket(port: number): Promise<Socket> {
  const socket = createSocket({ type: 'udp4', reuseAddr: true })
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject)
    socket.bind({ port, address: '0.0.0.0', exclusive: false }, () => {
      socket.off('error', reject)
      resolve()
    })
  })
  socket.setBroadcast(true)
  return socket
}

/**
 * Start LAN discovery: bind, announce in bursts (one datagram every 5 s for 30 s, then 300 s of
 * quiet; the first burst at once), and verify and store the peers that announce themselves.
 * Rejects with the bind error (e.g. EACCES); later send and receive errors are only logged.
 */
export async function startDiscovery(
  deps: DiscoveryDeps,
  config: DiscoveryConfig,
): Promise<Discovery> {
  const { identity, log } = deps
  const clock = deps.clock ?? Date
  const timers = deps.timers ?? realTimers
  const verify = deps.verify ?? ((c, signal) => verifyByDial(deps, c, signal))
  const filter: AnnouncementFilter = {
    ourDiscriminator: lanDiscriminator(deps.networkKey),
    ourId: identity.id,
  }
  const socket = await bindSocket(config.port)
  const boundPort = socket.address().port
  const cooldown = createCooldown()
  const abort = new AbortController()
  const pending = new Set<Promise<void>>()
  let timer: unknown = null
  let stopped = false
  let burstStartMs = clock.now()
  let errorsQuietUntilMs = 0
  let errorsSuppressed = 0

  const announce = (): void => {
    let datagram: Uint8Array
    try {
      datagram = encodeAnnouncement({
        networkKeyHash: filter.ourDiscriminator,
        gossipPort: config.gossipPort(),
        publicId: identity.id,
      })
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'LAN announcement not built')
      return
    }
    socket.send(datagram, boundPort, config.address, (err) => {
      if (err !== null)
        log.warn({ err: err.message, to: config.address }, 'LAN announcement failed')
    })
  }

  /** Send now, then wait for the next slot of the burst, or for the next burst (§8.2). */
  const tick = (): void => {
    timer = null
    if (stopped) return
    announce()
    const now = clock.now()
    let delayMs = LAN_BURST_PERIOD_MS
    if (now + LAN_BURST_PERIOD_MS - burstStartMs >= LAN_BURST_LENGTH_MS) {
      burstStartMs = Math.max(now, burstStartMs + LAN_BURST_LENGTH_MS + LAN_QUIET_MS)
      delayMs = burstStartMs - now
    }
    timer = timers.setTimeout(tick, delayMs)
  }

  const verifyAndStore = async (address: string, candidate: DiscoveryCandidate): Promise<void> => {
    if (!(await verify(candidate, abort.signal))) return
    deps.addLanPeer(address)
    log.info({ address, peer: candidate.publicId }, 'LAN peer verified and stored')
  }

  const onDatagram = (datagram: Buffer, sourceIp: string): void => {
    if (stopped) return
    const decision = parseAnnouncement(datagram, filter)
    if (!decision.accept) {
      if (decision.reason !== 'self')
        log.debug({ from: sourceIp, reason: decision.reason }, 'LAN datagram ignored')
      return
    }
    const { gossipPort, publicId } = decision.announcement
    const address = toCandidateAddress(sourceIp, gossipPort)
    if (!cooldown.admit(address, clock.now())) return
    const task = verifyAndStore(address, { host: sourceIp, port: gossipPort, publicId })
      .catch((err: unknown) => {
        log.warn({ address, err: (err as Error).message }, 'LAN peer not stored')
      })
      .finally(() => pending.delete(task))
    pending.add(task)
  }

  /**
   * §8.3 step 7. Node's socket keeps reading by itself, so there is no read loop to pause: the 1 s
   * backoff bounds how often a repeating error is logged, and datagrams keep being handled.
   */
  const onError = (err: Error): void => {
    const now = clock.now()
    if (now < errorsQuietUntilMs) {
      errorsSuppressed++
      return
    }
    log.warn({ err: err.message, suppressed: errorsSuppressed }, 'LAN discovery receive error')
    errorsSuppressed = 0
    errorsQuietUntilMs = now + LAN_RECEIVE_ERROR_BACKOFF_MS
  }

  socket.on('message', (msg, rinfo) => onDatagram(msg, rinfo.address))
  socket.on('error', onError)
  log.info({ port: boundPort, to: `${config.address}:${boundPort}` }, 'LAN discovery started')
  timer = timers.setTimeout(tick, 0)

  return {
    port: () => boundPort,
    async stop() {
      if (stopped) return
      stopped = true
      if (timer !== null) timers.clearTimeout(timer)
      abort.abort()
      await new Promise<void>((resolve) => socket.close(() => resolve()))
      await Promise.allSettled([...pending])
    },
  }
}
