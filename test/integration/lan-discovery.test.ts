/**
 * LAN discovery end to end (PROTOCOL.md §8): two daemons in two network namespaces joined by a
 * veth pair announce themselves to the subnet broadcast address, verify each other by a dial,
 * store each other as `lan` peers, and replicate a published message through the sync loop.
 * Skipped where network namespaces cannot be created (not root, no netns support).
 */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { waitFor } from '../helpers/http.js'
import { createLan, inNamespace, startNamespaceHttp, type NamespaceHttp } from '../helpers/netns.js'
import { runTs, type Proc } from '../helpers/process.js'

const BIN = 'src/bin/egregore.ts'

interface Ready {
  readonly identity: string
  readonly http: string
}

interface Host {
  readonly id: string
  /** HTTP API port inside the namespace. */
  readonly port: number
  readonly ip: string
  readonly daemon: Proc
  readonly http: NamespaceHttp
}

test('two nodes on a LAN find, verify and store each other, then replicate', async (t) => {
  const lan = createLan('egdisc')
  if (typeof lan === 'string') {
    t.skip(`network namespaces unavailable: ${lan}`)
    return
  }
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'egregore-lan-')))
  const procs: Proc[] = []
  // One teardown, in order: processes first (they live in the namespaces and write the dirs).
  t.after(async () => {
    for (const p of procs) if (p.child.exitCode === null) p.child.kill('SIGKILL')
    await Promise.all(procs.map((p) => p.exited))
    lan.remove()
    for (const d of dirs) rmSync(d, { recursive: true, force: true, maxRetries: 5 })
  })

  const hosts = [lan.a, lan.b]
  const daemons = hosts.map((host, i) => {
    // Default ports: each namespace has its own port space.
    const proc = runTs(
      t,
      BIN,
      [
        ...['--data-dir', dirs[i]!, '--network-key', 'lan-discovery-test'],
        ...['--lan-discovery', '--discovery-address', lan.broadcast],
        ...['--gossip-interval-secs', '1'],
      ],
      {},
      inNamespace(host.ns),
    )
    procs.push(proc)
    return proc
  })
  const http = await Promise.all(hosts.map((h) => startNamespaceHttp(t, h.ns)))
  procs.push(...http.map((h) => h.proc))
  const ready = await Promise.all(
    daemons.map(async (d) => JSON.parse(await d.waitForLine(/node ready/)) as Ready),
  )
  const [a, b] = ready.map((r, i): Host => ({
    id: r.identity,
    port: Number(r.http.split(':')[1]),
    ip: hosts[i]!.ip,
    daemon: daemons[i]!,
    http: http[i]!,
  })) as [Host, Host]

  // Each stores the other, at its veth address and announced gossip port, after verifying it.
  for (const [self, other] of [
    [a, b],
    [b, a],
  ] as const) {
    const line = await self.daemon.waitForLine(/LAN peer verified and stored/, 'stderr', 20000)
    const entry = JSON.parse(line) as { address: string; peer: string }
    assert.equal(entry.address, `${other.ip}:7655`)
    assert.equal(entry.peer, other.id)
  }

  // The sync loop (1 s) picks the peer up from the peers table and records its identity.
  for (const [self, other] of [
    [a, b],
    [b, a],
  ] as const) {
    const peers = await waitFor(
      async () => {
        const res = await self.http.request('GET', self.port, '/v1/peers')
        const list = (JSON.parse(res.text) as { data: Record<string, unknown>[] }).data
        return list.some((p) => p['public_id'] === other.id) && list
      },
      { timeoutMs: 15000, what: `the lan peer synced by ${self.ip}` },
    )
    assert.deepEqual(peers, [{ address: `${other.ip}:7655`, public_id: other.id, source: 'lan' }])
  }

  const published = await a.http.request(
    'POST',
    a.port,
    '/v1/publish',
    JSON.stringify({ content: { type: 'note', text: 'found you over the veth' } }),
  )
  assert.equal(published.status, 201, published.text)
  const hash = (JSON.parse(published.text) as { data: { hash: string } }).data.hash
  const got = await waitFor(
    async () => {
      const res = await b.http.request('GET', b.port, `/v1/message/${hash}`)
      return res.status === 200 && res.text
    },
    { timeoutMs: 15000, what: 'the message replicated to the other namespace' },
  )
  const message = (JSON.parse(got) as { data: { author: string; content: { text: string } } }).data
  assert.equal(message.author, a.id)
  assert.equal(message.content.text, 'found you over the veth')

  // Both stop cleanly (discovery's socket and timers do not hold the process); no errors logged.
  for (const d of daemons) d.child.kill('SIGTERM')
  for (const d of daemons) {
    assert.equal(await d.exited, 0, d.output().stderr)
    assert.match(d.output().stderr, /stopped cleanly/)
    assert.doesNotMatch(d.output().stderr, /"level":(50|60)/)
  }
})
