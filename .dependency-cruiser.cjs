/** Layer rule of STYLE.md §2: inner layers never import outer ones; siblings on a layer never import each other. */
const layer = (name, folders, allowed) => ({
  name: `layer-${name}`,
  severity: 'error',
  comment: `${name} may import only ${allowed.join(', ') || 'nothing from src/'}`,
  from: { path: `^src/(${folders.join('|')})` },
  to: { path: '^src/', pathNot: [`^src/(${[...folders, ...allowed].join('|')})`, '^src/types/'] },
})
const L0 = ['errors\\.ts', 'log\\.ts', 'codec/']
const L1 = ['crypto/']
const L2 = ['feed/']
const L3 = ['store/']
module.exports = {
  forbidden: [
    layer('0', L0, []),
    layer('1-crypto', L1, L0),
    layer('2-feed', L2, [...L0, ...L1]),
    layer('3-store', L3, [...L0, ...L1, ...L2]),
    layer('4-replication', ['replication/'], [...L0, ...L1, ...L2]),
    layer('4-net', ['net/'], [...L0, ...L1, ...L2]),
    layer('4-http', ['http/'], [...L0, ...L1, ...L2]),
    layer('5-events', ['events/'], [...L0, ...L1, ...L2, ...L3, 'replication/', 'net/', 'http/']),
    layer('5-api', ['api/'], [...L0, ...L1, ...L2, ...L3, 'replication/', 'net/', 'http/']),
    layer('6-node', ['node/'], [...L0, ...L1, ...L2, ...L3, 'replication/', 'net/', 'http/', 'events/', 'api/']),
    layer('6-relay', ['relay/'], [...L0, ...L1, ...L2, ...L3, 'replication/', 'net/', 'http/', 'events/', 'api/', 'node/']),
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'sodium-only-in-crypto',
      severity: 'error',
      comment: 'crypto primitives are wrapped in src/crypto (STYLE.md §8)',
      from: { path: '^src/', pathNot: '^src/crypto/' },
      to: { path: 'node_modules/sodium-native' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'], extensions: ['.ts', '.js'] },
  },
}
