/**
 * The per-read timeout of a secure connection (PROTOCOL.md §3.5.4): one timer, re-armed only when
 * a new read begins (progress changed), so a frame trickling in cannot extend its own deadline.
 */

/** Arms, keeps or clears one timer; cheap enough to call after every received chunk. */
export interface ReadTimer {
  /**
   * `reading`: whether a read is in progress now. `progress`: a counter that changes whenever a
   * read completes and another starts; the deadline restarts only when it changes.
   */
  update(reading: boolean, progress: number): void
}

/** A timer calling `onTimeout` when a read has waited `timeoutMs`. */
export function createReadTimer(timeoutMs: number, onTimeout: () => void): ReadTimer {
  let timer: NodeJS.Timeout | undefined
  let armed = false
  let armedAt = -1
  return {
    update(reading, progress) {
      if (!reading) {
        if (armed) clearTimeout(timer)
        armed = false
        return
      }
      if (armed && progress === armedAt) return
      armedAt = progress
      if (armed && timer !== undefined)
        timer.refresh() // restart the countdown of a live timer
      else {
        // refresh() cannot revive a cleared timer, so a new one is made
        timer = setTimeout(onTimeout, timeoutMs)
      }
      armed = true
    },
  }
}
