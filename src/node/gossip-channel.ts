/**
 * Gossip documents over a secure connection: the channel the pull session and push links use,
 * a receive with a deadline (push negotiation, §4.7.1), and peer address parsing.
 */
import type { SecureConnection } from '../net/index.js'
import {
  encodeGossipMessage,
  parseGossipMessage,
  type DocumentChannel,
  type GossipMessage,
} from '../replication/index.js'

/** Receive the next document, or `null` on close, error or timeout. */
export function receiveWithin(channel: DocumentChannel, ms: number): Promise<GossipMessage | null> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    channel.receive().catch(() => null),
    new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), ms))),
  ]).finally(() => clearTimeout(timer))
}

/** A document channel over a secure connection: the real codec on every message. */
export function documentChannel(conn: SecureConnection): DocumentChannel {
  return {
    send: (doc) => conn.send(encodeGossipMessage(doc)),
    async receive() {
      const bytes = await conn.receive()
      return bytes === null ? null : parseGossipMessage(bytes)
    },
  }
}

/** Split `host:port` at the last colon; brackets around IPv6 hosts are removed. */
export function splitAddress(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(':')
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(address.slice(colon + 1)) }
}
