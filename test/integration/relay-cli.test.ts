/**
 * The relay as operators and node owners run it: `egregore-relay` start-up, ready line, clean
 * shutdown and exit codes (PROTOCOL.md §9.2), and `egregore relay register|settings`, which sign
 * with the node's existing identity and never create one.
 */
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import { loadOrCreateIdentity } from '../../src/node/index.js'
import { buildFeed, messagesOf } from '../helpers/feeds.js'
import { httpRequest } from '../helpers/http.js'
import { runTs, tempDir } from '../helpers/process.js'
import { startTestRelay } from '../helpers/relay.js'

const RELAY_BIN = 'src/bin/egregore-relay.ts'
const NODE_BIN = 'src/bin/egregore.ts'

test('egregore-relay starts, logs its ready line with the bound ports, answers, and stops cleanly on SIGTERM', async (t) => {
  const dir = join(tempDir(t), 'relay')
  const proc = runTs(t, RELAY_BIN, [
    '--data-dir',
    dir,
    '--port',
    '0',
    '--gossip-port',
    '0',
    '--bind',
    '127.0.0.1',
    '--gossip-bind',
    '127.0.0.1',
    '--ttl-days',
    '0',
  ])
  const ready = JSON.parse(await proc.waitForLine(/relay ready/)) as {
    identity: string
    http: string
    gossip: string
    created: boolean
    ttlDays: number
  }
  assert.equal(ready.created, true)
  assert.equal(ready.ttlDays, 0)
  assert.match(ready.gossip, /^127\.0\.0\.1:\d+$/)
  assert.match(proc.output().stderr, /public by design/)
  const port = Number(ready.http.split(':').at(-1))
  const status = await httpRequest(port, { path: '/v1/status' })
  assert.equal(
    (JSON.parse(status.text) as { data: { identity: string } }).data.identity,
    ready.identity,
  )
  assert.ok(existsSync(join(dir, 'identity', 'secret.key')))
  assert.ok(existsSync(join(dir, 'egregore.db')))
  proc.child.kill('SIGTERM')
  assert.equal(await proc.exited, 0, proc.output().stderr)
  assert.match(proc.output().stderr, /stopped cleanly/)
})

test('egregore-relay: --help exits 0; invalid flags exit 2; a port in use exits 1 with one line', async (t) => {
  const help = runTs(t, RELAY_BIN, ['--help'])
  assert.equal(await help.exited, 0)
  for (const flag of ['--max-peers', '--ttl-days', '--max-links', '--max-feed-bytes', '--bind'])
    assert.ok(help.output().stdout.includes(flag), flag)
  assert.ok(!help.output().stdout.includes('--gossip-bind'), 'a hidden test flag')
  for (const args of [
    ['--ttl-days', '-1'],
    ['--port', '70000'],
    ['--max-peers', 'many'],
    ['--port', '7700', '--gossip-port', '7700'],
    ['--bind', 'example.com'],
    ['--no-such-flag'],
  ]) {
    const p = runTs(t, RELAY_BIN, ['--data-dir', tempDir(t), ...args])
    assert.equal(await p.exited, 2, `${args.join(' ')}: ${p.output().stderr}`)
  }
  const relay = await startTestRelay(t)
  const busy = runTs(t, RELAY_BIN, [
    '--data-dir',
    tempDir(t),
    '--bind',
    '127.0.0.1',
    '--port',
    String(relay.httpPort()),
    '--gossip-port',
    '0',
  ])
  assert.equal(await busy.exited, 1)
  assert.match(busy.output().stderr, /egregore-relay: .*EADDRINUSE/)
})

test('egregore relay register signs with the node identity; settings change it; no identity is never created', async (t) => {
  const relay = await startTestRelay(t)
  const url = `http://127.0.0.1:${relay.httpPort()}`
  const nodeDir = tempDir(t)
  const { identity } = await loadOrCreateIdentity(nodeDir, {
    encrypted: false,
    getPassphrase: () => Promise.reject(new Error('unused')),
  })
  const reg = runTs(t, NODE_BIN, [
    'relay',
    'register',
    url,
    '--data-dir',
    nodeDir,
    '--nickname',
    'cli-node',
  ])
  assert.equal(await reg.exited, 0, reg.output().stderr)
  assert.match(
    reg.output().stdout,
    new RegExp(`registered ${identity.id.replace(/[+/.]/g, '\\$&')}`),
  )
  assert.match(reg.output().stdout, /--peer 127\.0\.0\.1:7661/)
  assert.deepEqual(relay.registry.directory(), [
    { publicId: identity.id, nickname: 'cli-node', lastConnected: null },
  ])

  const again = runTs(t, NODE_BIN, ['relay', 'register', url, '--data-dir', nodeDir])
  assert.equal(await again.exited, 1)
  assert.match(again.output().stderr, /ALREADY_REGISTERED/)

  const hide = runTs(t, NODE_BIN, ['relay', 'settings', url, '--data-dir', nodeDir, '--private'])
  assert.equal(await hide.exited, 0, hide.output().stderr)
  assert.deepEqual(relay.registry.directory(), [])

  const empty = tempDir(t)
  const none = runTs(t, NODE_BIN, ['relay', 'register', url, '--data-dir', empty])
  assert.equal(await none.exited, 1)
  assert.match(none.output().stderr, /no identity in/)
  assert.ok(!existsSync(join(empty, 'identity')), 'no identity was created')

  const badUrl = runTs(t, NODE_BIN, ['relay', 'register', 'relay-host:7660', '--data-dir', nodeDir])
  assert.equal(await badUrl.exited, 2)
})

test('egregore relay status reports the relay, and QUOTA_EXCEEDED (exit 1) once our feed is capped', async (t) => {
  const relay = await startTestRelay(t, { maxFeedBytes: 3000 }) // ~500 bytes per message
  const url = `http://127.0.0.1:${relay.httpPort()}`
  const nodeDir = tempDir(t)
  const { identity } = await loadOrCreateIdentity(nodeDir, {
    encrypted: false,
    getPassphrase: () => Promise.reject(new Error('unused')),
  })
  const within = runTs(t, NODE_BIN, ['relay', 'status', url, '--data-dir', nodeDir])
  assert.equal(await within.exited, 0, within.output().stderr)
  assert.match(within.output().stdout, /0 messages in 0 feeds/)
  assert.match(within.output().stdout, /within the relay's quota/)

  const feed = messagesOf(
    buildFeed(identity, 8, { contentFn: (n) => ({ type: 'note', pad: 'x'.repeat(300), n }) }),
  )
  await relay.engine.ingestMany(feed)
  assert.deepEqual(relay.status().capped_feeds, [identity.id])
  const over = runTs(t, NODE_BIN, ['relay', 'status', url, '--data-dir', nodeDir])
  assert.equal(await over.exited, 1)
  assert.match(over.output().stderr, /holds the most it accepts of @.*--max-feed-bytes/)
})
