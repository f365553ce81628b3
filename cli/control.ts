/**
 * The control socket of a running session (`xs-rpmsg run`): a UNIX stream socket per session
 * in the sessions folder, beside a JSON descriptor, so that `send`, `listen`, `channels`,
 * `trace`, `stats` and `expose` from another terminal find it. One JSON object per line:
 * a request {verb, ...}, then zero or more {event} lines and one {ok, result | error}.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { RpmsgError, type ErrnoName } from '../wire/errors.ts';

/** What a session's descriptor says. */
export interface SessionInfo {
  id: string;
  pid: number;
  app: string;
  target: string;
  /** The control socket. */
  socket: string;
  /** The bridge's folder, if the session has a bridge. */
  bridgeDir: string | null;
  started: string;
}

/** The folder of session descriptors and sockets: $XS_RPMSG_RUNTIME_DIR, else $XDG_RUNTIME_DIR/xs-rpmsg, else /tmp/xs-rpmsg-<uid>. */
export function sessionsDir(): string {
  const base = process.env.XS_RPMSG_RUNTIME_DIR ?? (process.env.XDG_RUNTIME_DIR ? join(process.env.XDG_RUNTIME_DIR, 'xs-rpmsg') : join(tmpdir(), `xs-rpmsg-${userInfo().uid}`));
  return join(base, 'sessions');
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Running sessions (descriptors of dead processes are removed). */
export function listSessions(): SessionInfo[] {
  const dir = sessionsDir();
  if (!existsSync(dir)) return [];
  const sessions: SessionInfo[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    let info: SessionInfo;
    try {
      info = JSON.parse(readFileSync(join(dir, file), 'utf8')) as SessionInfo;
    } catch {
      continue;
    }
    if (alive(info.pid) && existsSync(info.socket)) sessions.push(info);
    else for (const path of [join(dir, file), info.socket]) rmSync(path, { force: true });
  }
  return sessions;
}

/** The session `id` (or the only one running); ENOENT/EINVAL with what to do otherwise. */
export function findSession(id?: string): SessionInfo {
  const sessions = listSessions();
  if (id) {
    const found = sessions.find((s) => s.id === id);
    if (!found) throw new RpmsgError('ENOENT', `no running session "${id}" (running: ${sessions.map((s) => s.id).join(', ') || 'none'})`);
    return found;
  }
  if (sessions.length === 0) throw new RpmsgError('ENOENT', 'no running session; start one in another terminal with: npx xs-rpmsg run');
  if (sessions.length > 1) throw new RpmsgError('EINVAL', `${sessions.length} sessions are running (${sessions.map((s) => s.id).join(', ')}); pick one with --session ID`);
  return sessions[0];
}

/** EADDRINUSE if a session called `id` is running. */
export function checkSessionFree(id: string): void {
  const running = listSessions().find((session) => session.id === id);
  if (running) throw new RpmsgError('EADDRINUSE', `a session "${id}" is already running (pid ${running.pid}); pick another --session ID or stop it with: npx xs-rpmsg stop --session ${id}`);
}

/** A request handler: `emit` streams events; resolve with the result (or throw RpmsgError). `signal` aborts when the client leaves. */
export type Handler = (request: Record<string, unknown>, emit: (event: unknown) => void, signal: AbortSignal) => Promise<unknown>;

/** The server side: listens, writes the descriptor; close() removes both. */
export class ControlServer {
  readonly info: SessionInfo;
  private readonly server: Server;
  private readonly clients: Set<Socket>;
  private readonly descriptor: string;

  private constructor(info: SessionInfo, server: Server, descriptor: string, clients: Set<Socket>) {
    this.info = info;
    this.server = server;
    this.descriptor = descriptor;
    this.clients = clients;
  }

  /** Listen at <sessions>/<id>.sock and write <id>.json. */
  static async start(fields: Omit<SessionInfo, 'socket' | 'started' | 'pid'>, handler: Handler): Promise<ControlServer> {
    const dir = sessionsDir();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const socket = join(dir, `${fields.id}.sock`);
    checkSessionFree(fields.id);
    if (existsSync(socket)) unlinkSync(socket);
    const info: SessionInfo = { ...fields, pid: process.pid, socket, started: new Date().toISOString() };
    const clients = new Set<Socket>();
    const server = createServer((client) => {
      clients.add(client);
      const controller = new AbortController();
      client.on('close', () => {
        clients.delete(client);
        controller.abort();
      });
      client.on('error', () => {});
      let buffer = '';
      client.setEncoding('utf8');
      client.on('data', (chunk: string) => {
        buffer += chunk;
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          const write = (object: unknown) => {
            if (!client.destroyed) client.write(`${JSON.stringify(object)}\n`);
          };
          let request: Record<string, unknown>;
          try {
            request = JSON.parse(line) as Record<string, unknown>;
          } catch {
            write({ ok: false, error: { code: 'EINVAL', message: 'EINVAL: a request is one JSON object per line' } });
            continue;
          }
          handler(request, (event) => write({ event }), controller.signal).then(
            (result) => write({ ok: true, result }),
            (error: Error) => write({ ok: false, error: { code: (error as RpmsgError).code ?? 'EIO', message: error.message } }),
          );
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(socket, () => resolve());
    });
    const descriptor = join(dir, `${fields.id}.json`);
    writeFileSync(descriptor, `${JSON.stringify(info, null, 2)}\n`);
    return new ControlServer(info, server, descriptor, clients);
  }

  /** Stop listening, drop clients, remove the socket and the descriptor. */
  async close(): Promise<void> {
    for (const client of this.clients) client.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    rmSync(this.descriptor, { force: true });
    rmSync(this.info.socket, { force: true });
  }
}

/** The client side: send one request, get each event, resolve with the result. */
export function callSession(info: SessionInfo, request: Record<string, unknown>, onEvent: (event: unknown) => void = () => {}): { result: Promise<unknown>; cancel(): void } {
  const socket = connect(info.socket);
  const result = new Promise<unknown>((resolve, reject) => {
    let buffer = '';
    let done = false;
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.write(`${JSON.stringify(request)}\n`));
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline: number;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        const reply = JSON.parse(buffer.slice(0, newline)) as { event?: unknown; ok?: boolean; result?: unknown; error?: { code: ErrnoName; message: string } };
        buffer = buffer.slice(newline + 1);
        if ('event' in reply) onEvent(reply.event);
        else {
          done = true;
          socket.end();
          if (reply.ok) resolve(reply.result);
          else {
            const error = new Error(reply.error?.message ?? 'the session refused the request') as Error & { code?: string };
            error.code = reply.error?.code;
            reject(error);
          }
        }
      }
    });
    socket.on('error', (error) => reject(new RpmsgError('EPIPE', `session ${info.id} (${info.socket}): ${error.message}`)));
    socket.on('close', () => {
      if (!done) reject(new RpmsgError('EPIPE', `session ${info.id} closed the connection (it stopped?)`));
    });
  });
  return { result, cancel: () => socket.destroy() };
}
