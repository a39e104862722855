import { readFileSync } from 'node:fs';
import {
  createServer as createHttpServer,
  request as httpRequest,
  type IncomingMessage,
  type ServerResponse,
} from 'node:http';
import { request as httpsRequest, createServer as createHttpsServer } from 'node:https';
import { connect, createServer as createTcpServer } from 'node:net';
import { parseArgs } from 'node:util';

/**
 * An unmodified application for the capture test: it knows nothing of the mesh, and runs in a
 * "pod" (network namespace) as its own process. `serve` answers HTTP with what it saw of the
 * request and echoes TCP; `get`, `tcp` and `tcp-half-close` are clients that print one JSON line
 * of outcome.
 *
 *   serve --http 8080 --http 9090 --echo 9000 [--https 9443 --cert F --key F]
 *   get URL [--servername NAME] [--host HOST]
 *   tcp HOST PORT MESSAGE
 *   tcp-half-close HOST PORT MESSAGE
 */

/** What the server saw of a request: the proof of which path it took. */
export interface Seen {
  readonly port: number;
  readonly url: string;
  readonly remoteAddress: string;
  readonly headers: IncomingMessage['headers'];
}

/** One line a client prints: the response, or the error that ended the attempt. */
export interface Outcome {
  readonly status?: number;
  readonly body?: string;
  readonly error?: string;
}

function answer(port: number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const seen: Seen = {
      port,
      url: req.url ?? '',
      remoteAddress: req.socket.remoteAddress ?? '',
      headers: req.headers,
    };
    console.log(JSON.stringify({ seen }));
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(seen));
  };
}

function listen(
  server: { listen(port: number, host: string, cb: () => void): unknown },
  port: number,
): Promise<number> {
  return new Promise((resolve) => server.listen(port, '0.0.0.0', () => resolve(port)));
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      http: { type: 'string', multiple: true, default: [] },
      echo: { type: 'string', multiple: true, default: [] },
      https: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
    },
  });
  const ports: Promise<number>[] = [];
  for (const p of values.http.map(Number)) ports.push(listen(createHttpServer(answer(p)), p));
  for (const p of values.echo.map(Number))
    ports.push(
      listen(
        createTcpServer((s) => s.on('error', () => undefined).pipe(s)),
        p,
      ),
    );
  if (values.https) {
    const port = Number(values.https);
    const tls = { cert: readFileSync(values.cert!), key: readFileSync(values.key!) };
    ports.push(listen(createHttpsServer(tls, answer(port)), port));
  }
  console.log(JSON.stringify({ listening: await Promise.all(ports) }));
}

function get(args: string[]): Promise<Outcome> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { servername: { type: 'string' }, host: { type: 'string' } },
  });
  const url = new URL(positionals[0]!);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve) => {
    const req = send(
      url,
      {
        rejectUnauthorized: false,
        ...(values.servername ? { servername: values.servername } : {}),
        ...(values.host ? { headers: { host: values.host } } : {}),
        timeout: 10_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    req.end();
  });
}

function tcp(args: string[]): Promise<Outcome> {
  const [host = '', port = '0', message = ''] = args;
  return new Promise((resolve) => {
    const socket = connect(Number(port), host);
    let body = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.setEncoding('utf8').on('data', (c: string) => {
      body += c;
      if (body.length >= message.length) socket.end();
    });
    socket.on('connect', () => socket.write(message));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    socket.on('close', () => resolve({ body }));
  });
}

/**
 * Sends MESSAGE and shuts down its write side at once (FIN, still reading), as `nc -N` does, then
 * reads until the connection closes: the echo comes back only if the way back outlived the FIN.
 */
function tcpHalfClose(args: string[]): Promise<Outcome> {
  const [host = '', port = '0', message = ''] = args;
  return new Promise((resolve) => {
    const socket = connect({ host, port: Number(port), allowHalfOpen: true });
    let body = '';
    socket.setTimeout(10_000, () => socket.destroy(new Error('timeout')));
    socket.setEncoding('utf8').on('data', (c: string) => (body += c));
    socket.on('connect', () => socket.end(message));
    socket.on('error', (err: NodeJS.ErrnoException) => resolve({ error: err.code ?? err.message }));
    socket.on('close', () => resolve({ body }));
  });
}

const CLIENTS: Record<string, (args: string[]) => Promise<Outcome>> = {
  get,
  tcp,
  'tcp-half-close': tcpHalfClose,
};

async function main(): Promise<void> {
  const [command = '', ...rest] = process.argv.slice(2);
  if (command === 'serve') return serve(rest);
  const client = CLIENTS[command];
  const outcome = client ? await client(rest) : { error: `unknown command ${command}` };
  console.log(JSON.stringify(outcome));
}

void main();
