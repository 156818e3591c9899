#!/usr/bin/env node
/** `egregore`: the node daemon and its client commands. */
import { tuneHeapForDaemon } from '../cli/heap.js'
import { main } from '../cli/egregore.js'

tuneHeapForDaemon()
await main(process.argv)
