/**
 * A WebSocket client at the byte level, for attacks a well-behaved library refuses to
 * produce: fragmented and interleaved frames, invalid UTF-8, reserved opcodes and bits,
 * lying length fields, unmasked client frames, and peers that never read.
 */
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'

/** Options of {@link frame}. */
export interface FrameOptions {
  /** FIN bit. @default true */
  fin?: boolean
  /** Mask the payload, as RFC 6455 §5.3 requires of clients. @default true */
  mask?: boolean
  /** RSV1–3 bits (0–7). @default 0 */
  rsv?: number
  /** Write this value in the length field instead of the real length. @default undefined */
  lieLength?: number
}

/** Encodes one WebSocket frame. Opcodes: 0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong. */
export function frame(opcode: number, payload: Buffer | string, options: FrameOptions = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload) : payload
  const fin = options.fin ?? true
  const mask = options.mask ?? true
  const len = options.lieLength ?? data.length
  const head: number[] = [(fin ? 0x80 : 0) | ((options.rsv ?? 0) << 4) | (opcode & 0x0f)]
  const m = mask ? 0x80 : 0
  if (len < 126) head.push(m | len)
  else if (len < 65_536) head.push(m | 126, len >> 8, len & 0xff)
  else {
    head.push(m | 127)
    const big = Buffer.alloc(8)
    big.writeBigUInt64BE(BigInt(len))
    head.push(...big)
  }
  if (!mask) return Buffer.concat([Buffer.from(head), data])
  const key = randomBytes(4)
  const masked = Buffer.alloc(data.length)
  for (let i = 0; i < data.length; i++) masked[i] = (data[i] as number) ^ (key[i % 4] as number)
  return Buffer.concat([Buffer.from(head), key, masked])
}

/** A raw socket after a successful upgrade handshake. */
export interface RawWs {
  readonly socket: Socket
  /** Bytes received after the handshake. */
  received(): number
  /** Resolves when the server closes or resets the connection. */
  readonly closed: Promise<void>
}

/** Performs the upgrade by hand on a plain TCP socket. Rejects if the server does not answer 101. */
export function rawUpgrade(port: number, path = '/v1/ws', headers: Record<string, string> = {}): Promise<RawWs> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1')
    let head = Buffer.alloc(0)
    let bytes = 0
    let upgraded = false
    const closed = new Promise<void>((res) => socket.once('close', () => res()))
    socket.on('error', (e) => (upgraded ? undefined : reject(e)))
    socket.on('data', (chunk: Buffer) => {
      if (upgraded) {
        bytes += chunk.length
        return
      }
      head = Buffer.concat([head, chunk])
      const end = head.indexOf('\r\n\r\n')
      if (end === -1) return
      const status = head.subarray(0, end).toString('latin1').split('\r\n')[0] ?? ''
      if (!status.includes(' 101 ')) {
        socket.destroy()
        return reject(new Error(`upgrade refused: ${status}`))
      }
      upgraded = true
      bytes += head.length - end - 4
      resolve({ socket, received: () => bytes, closed })
    })
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extra}\r\n`,
    )
  })
}
