/** Live push (PROTOCOL.md §4.7): persistent links carry new messages at once, across hops. */
import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { TestContext } from 'node:test'
import { fromPlainJson, parseJson } from '../../src/codec/index.js'
import { parseMessage, type MessageEvent } from '../../src/feed/index.js'
import type { EgregoreNode } from '../../src/node/index.js'
import { waitFor } from '../helpers/http.js'
import { startGossipNodeIn } from '../helpers/process.js'

// Links come only from the syncs the tests run (manual sync cycles).
const startNode = (
  t: TestContext,
  opts: { peers?: string[]; push?: boolean } = {},
): Promise<EgregoreNode> => startGossipNodeIn(t, { ...opts, networkKey: 'egregore-push-test' })

const addr = (n: EgregoreNode): string => `127.0.0.1:${n.gossip!.port()}`

/** Resolves with the first stored message event matching `pred` on `node`. */
function nextStored(node: EgregoreNode, pred: (e: MessageEvent) => boolean): Promise<MessageEvent> {
  return new Promise((resolve) => {
    const off = node.engine.onMessage((e) => {
      if (pred(e)) {
        off()
        resolve(e)
      }
    })
  })
}

async function publish(node: EgregoreNode, text: string): Promise<string> {
  const r = await node.engine.publish(fromPlainJson({ type: 'note', text }))
  return r.message.hash
}

/** `dialler` syncs `target` once and both sides register the persistent link. */
async function link(dialler: EgregoreNode, target: EgregoreNode): Promise<void> {
  await dialler.gossip!.syncOnce()
  await dialler.gossip!.waitForLink(target.identity.id)
  await target.gossip!.waitForLink(dialler.identity.id)
}

test('after one sync both sides keep a link and push new messages both ways', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t, { peers: [addr(a)] })
  await link(b, a)

  const arriving = nextStored(b, (e) => e.author === a.identity.id)
  const hash = await publish(a, 'pushed from a')
  const got = await arriving
  assert.equal(got.hash, hash)
  assert.equal(got.origin, a.identity.id)

  const back = nextStored(a, (e) => e.author === b.identity.id)
  const hashB = await publish(b, 'pushed from b')
  assert.equal((await back).hash, hashB)

  // A second sync keeps the one link (the client skips subscribe when a link exists).
  await b.gossip!.syncOnce()
  assert.deepEqual(b.gossip!.links(), [a.identity.id])
  assert.deepEqual(a.gossip!.links(), [b.identity.id])
})

test('pushes are forwarded across hops and never echoed back (A → B → C)', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t, { peers: [addr(a)] })
  const c = await startNode(t, { peers: [addr(b)] })
  await link(b, a)
  await link(c, b)

  const atC = nextStored(c, (e) => e.author === a.identity.id)
  const hash = await publish(a, 'two hops')
  const got = await atC
  assert.equal(got.hash, hash)
  assert.equal(got.origin, b.identity.id, 'C received it from B, not from A')
  // The flood ends: a burst crosses without duplicates and every node holds it once.
  for (let i = 0; i < 50; i++) await publish(a, `burst ${i}`)
  await waitFor(() => c.store.contiguousSequence(a.identity.id) === 51, {
    what: 'C holds all 51 of A’s messages by push',
  })
  assert.equal(b.store.contiguousSequence(a.identity.id), 51)
  // C's own message travels back to A over the same two links.
  const atA = nextStored(a, (e) => e.author === c.identity.id)
  await publish(c, 'from the far end')
  assert.equal((await atA).origin, b.identity.id)
})

test('with --no-push on either side the sync succeeds and stays pull-only', async (t) => {
  const a = await startNode(t, { push: false })
  await publish(a, 'pull only')
  const b = await startNode(t, { peers: [addr(a)] })
  await b.gossip!.syncOnce()
  assert.equal(b.store.contiguousSequence(a.identity.id), 1, 'the pull exchange ran')
  assert.deepEqual(b.gossip!.links(), [])
  assert.deepEqual(a.gossip!.links(), [])

  const c = await startNode(t, { push: false, peers: [addr(b)] })
  await c.gossip!.syncOnce()
  assert.equal(c.store.contiguousSequence(a.identity.id), 1)
  assert.deepEqual(c.gossip!.links(), [])
  assert.deepEqual(b.gossip!.links(), [])
})

test('a link whose peer stops ends cleanly and the survivor keeps working', async (t) => {
  const a = await startNode(t)
  const b = await startNode(t, { peers: [addr(a)] })
  await link(b, a)
  await a.stop()
  await waitFor(() => b.gossip!.links().length === 0, { what: 'B dropped the link to A' })
  // B keeps working with no link.
  await publish(b, 'still fine')
  assert.equal(b.store.contiguousSequence(b.identity.id), 1)
})

test('pushed messages of authors outside the follow list are not stored', async (t) => {
  const a = await startNode(t)
  const other = await startNode(t)
  const b = await startNode(t, { peers: [addr(a)] })
  b.state.follow(other.identity.id) // B follows someone else only
  await link(b, a)
  await publish(a, 'not followed by B')
  // A then stores (and pushes on) a message of the followed author: pushes keep their order on a
  // link, so once B has it, B has already seen and dropped A's own message.
  await publish(other, 'followed by B')
  const [wire] = other.store.messagesAfter(other.identity.id, 0, 1)
  const followed = nextStored(b, (e) => e.author === other.identity.id)
  await a.engine.ingestMany([parseMessage(parseJson(wire!.wireText))])
  await followed
  assert.equal(b.store.headOf(a.identity.id), undefined)
})
