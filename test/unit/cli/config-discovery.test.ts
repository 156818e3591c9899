/** LAN discovery settings of the daemon configuration (PROTOCOL.md §7.9, §8.2). */
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test, type TestContext } from 'node:test'
import { resolveDaemonConfig, type RawConfig } from '../../../src/cli/config.js'
import { egregoreError } from '../../helpers/vectors.js'

function dataDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'egregore-config-'))
  t.after(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function lanOf(t: TestContext, flags: RawConfig & { config?: string }) {
  return resolveDaemonConfig({ 'data-dir': dataDir(t), ...flags }, {}, '0').node.gossip
    ?.lanDiscovery
}

test('off by default; --lan-discovery alone gives port 7656 and 255.255.255.255', (t) => {
  assert.equal(lanOf(t, {}), undefined)
  assert.deepEqual(lanOf(t, { 'lan-discovery': true }), {
    port: 7656,
    address: '255.255.255.255',
  })
})

test('flags set the port and address; port 0 lets the OS choose', (t) => {
  const flags = { 'lan-discovery': true, 'discovery-address': '10.1.2.255' }
  assert.deepEqual(lanOf(t, { ...flags, 'discovery-port': '7700' }), {
    port: 7700,
    address: '10.1.2.255',
  })
  assert.equal(lanOf(t, { ...flags, 'discovery-port': '0' })?.port, 0)
})

test('the YAML file takes the same keys, and flags override it', (t) => {
  const dir = dataDir(t)
  writeFileSync(
    join(dir, 'config.yaml'),
    'lan-discovery: true\ndiscovery-port: 7800\ndiscovery-address: 192.168.7.255\n',
  )
  const fromFile = resolveDaemonConfig({ 'data-dir': dir }, {}, '0').node.gossip?.lanDiscovery
  assert.deepEqual(fromFile, { port: 7800, address: '192.168.7.255' })
  const overridden = resolveDaemonConfig({ 'data-dir': dir, 'discovery-port': '7801' }, {}, '0')
  assert.equal(overridden.node.gossip?.lanDiscovery?.port, 7801)
})

test('rejects a non-IPv4 address, a bad port, and a port shared with HTTP or gossip', (t) => {
  const on = { 'lan-discovery': true }
  for (const address of ['example.org', '::1', '10.0.0.256', '']) {
    assert.throws(
      () => lanOf(t, { ...on, 'discovery-address': address }),
      egregoreError('CONFIG_ERROR'),
      address,
    )
  }
  assert.throws(() => lanOf(t, { ...on, 'discovery-port': '65536' }), /--discovery-port/)
  assert.throws(() => lanOf(t, { ...on, 'lan-discovery': 'yes' }), /--lan-discovery/)
  assert.throws(() => lanOf(t, { ...on, 'discovery-port': '7655' }), /must differ/)
  assert.throws(() => lanOf(t, { ...on, port: '7700', 'discovery-port': '7700' }), /must differ/)
  // Without --lan-discovery the port is not in use, so it may equal the others.
  assert.equal(lanOf(t, { 'discovery-port': '7655' }), undefined)
})
