// A tiny typed event bus: the engine publishes, transports subscribe and forward to their clients.
import type { ApiEvent } from '../../shared/contract'

export type EventListener = (event: ApiEvent) => void

export class EventBus {
  private readonly listeners = new Set<EventListener>()

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  publish(event: ApiEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event)
      } catch (error) {
        // One broken client must not stop the others from hearing about the event.
        console.error('event listener failed:', error)
      }
    }
  }

  get size(): number {
    return this.listeners.size
  }
}
