/** Layer 5: consumers of message events: the hook subprocess and the webhook (PROTOCOL.md §7.8). */
export {
  abortableSleep,
  createHookRunner,
  type HookRunner,
  type HookRunnerDeps,
  type HookRunnerOptions,
  type HookRunnerStats,
} from './hook-runner.js'
export { validateWebhookUrl, webhookSignature, retryDelayMs } from './webhook.js'
