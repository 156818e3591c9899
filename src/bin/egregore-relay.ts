#!/usr/bin/env node
/** `egregore-relay`: the store-and-forward relay (PROTOCOL.md §9). */
import { tuneHeapForDaemon } from '../cli/heap.js'
import { mainRelay } from '../cli/relay-cli.js'

tuneHeapForDaemon()
await mainRelay(process.argv)
