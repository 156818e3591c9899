/** In-memory gossip document channels for replication unit tests; documents pass the real codec. */
import {
  encodeGossipMessage,
  parseGossipMessage,
  type DocumentChannel,
  type GossipMessage,
} from '../../src/replication/index.js'

/** One end of a channel pair; `close` and `fail` act on what the other end receives. */
export interface TestChannel extends DocumentChannel {
  /** The other end's next receive gives `null` (goodbye/EOF). */
  close(): void
  /** The other end's next receive rejects with `err` (a decode error, a broken socket). */
  fail(err: Error): void
}

type Item = { doc: GossipMessage | null } | { err: Error }

function mailbox() {
  const inbox: Item[] = []
  const waiters: { resolve: (d: GossipMessage | null) => void; reject: (e: Error) => void }[] = []
  const settle = (item: Item, w: (typeof waiters)[number]): void => {
    if ('err' in item) w.reject(item.err)
    else w.resolve(item.doc)
  }
  return {
    deliver(item: Item) {
      const w = waiters.shift()
      if (w !== undefined) settle(item, w)
      else inbox.push(item)
    },
    receive(): Promise<GossipMessage | null> {
      return new Promise((resolve, reject) => {
        const item = inbox.shift()
        if (item !== undefined) settle(item, { resolve, reject })
        else waiters.push({ resolve, reject })
      })
    },
  }
}

/** Two channels joined back to back. */
export function channelPair(): [TestChannel, TestChannel] {
  const a = mailbox()
  const b = mailbox()
  const side = (me: typeof a, peer: typeof a): TestChannel => ({
    send: (doc) => {
      peer.deliver({ doc: parseGossipMessage(encodeGossipMessage(doc)) })
      return Promise.resolve()
    },
    receive: () => me.receive(),
    close: () => peer.deliver({ doc: null }),
    fail: (err) => peer.deliver({ err }),
  })
  return [side(a, b), side(b, a)]
}
