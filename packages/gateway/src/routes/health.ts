import type { Bus } from '../bus/bus.js'
import { errorResponse } from '../http-error.js'

const json = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' }

/** `GET /healthz`: the process answers. */
export function healthz(): Response {
  return new Response('{"ok":true}', { status: 200, headers: json })
}

/** `GET /readyz`: 200 while the bus is up, 503 `bus_unavailable` otherwise (take this instance out of rotation). */
export function readyz(bus: Pick<Bus, 'state' | 'kind'>, closing: boolean): Response {
  if (closing) return errorResponse(503, 'shutting_down', 'the gateway is shutting down')
  if (bus.state !== 'up') return errorResponse(503, 'bus_unavailable', `the ${bus.kind} bus is ${bus.state}: waiting for it to reconnect`)
  return new Response(`{"ok":true,"bus":"${bus.kind}"}`, { status: 200, headers: json })
}
