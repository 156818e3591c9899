#!/usr/bin/env node
/** `egregore-relay`: the store-and-forward relay (PROTOCOL.md §9). Implemented by issue #6. */
console.error('egregore-relay: the relay is not implemented yet (tracked in issue #6)')
process.exitCode = 2
