#!/usr/bin/env node
// A DAP client written from the specification, small enough to run as another user (no
// dependencies): connects, sends an optional first line and the given frames, and prints
// everything the server sent, as JSON {text, closed}, when the server closes or after a while.
// Usage: node dap-raw-client.mjs '{"port":N}|{"path":P}' '{"preamble":"...","frames":[{...}],"raw":"..."}'
import { connect } from 'node:net';

const target = JSON.parse(process.argv[2]);
const what = JSON.parse(process.argv[3]);
const socket = target.path ? connect(target.path) : connect(target.port, target.host ?? '127.0.0.1');
let text = '';
let error = '';
const finish = (closed) => {
  process.stdout.write(JSON.stringify({ text, closed, error }));
  process.exit(0);
};
socket.on('data', (d) => (text += d.toString('utf8')));
socket.on('error', (e) => (error = e.code ?? e.message));
socket.on('close', () => finish(true));
setTimeout(() => finish(false), what.waitMs ?? 8000);
socket.on('connect', () => {
  if (what.preamble) socket.write(what.preamble);
  if (what.raw) socket.write(what.raw);
  for (const f of what.frames ?? []) {
    const json = JSON.stringify(f);
    socket.write(`Content-Length: ${Buffer.byteLength(json)}\r\n\r\n${json}`);
  }
});
