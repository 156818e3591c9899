#!/usr/bin/env node
/** `egregore`: the node daemon and its client commands. */
import { main } from '../cli/egregore.js'

await main(process.argv)
