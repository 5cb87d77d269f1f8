import { parseArgs } from 'node:util';
import WebSocket from 'ws';

const { values } = parseArgs({
  args: process.argv.slice(2).filter((arg) => arg !== '--'),
  options: {
    key: { type: 'string' },
    url: { type: 'string', default: 'ws://127.0.0.1:3000/ws' },
    message: { type: 'string', default: 'hello from the Node client' },
  },
});

if (values.key === undefined) {
  console.error('Missing --key: pass an API key, for example --key alice-api-key.');
  process.exit(2);
}

const socket = new WebSocket(values.url, { headers: { 'X-Api-Key': values.key } });

socket.on('unexpected-response', (_request, response) => {
  let body = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    body += chunk;
  });
  response.on('end', () => {
    console.log(`HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trim());
    console.log(body);
    process.exit(1);
  });
});

socket.on('error', (error) => {
  console.error(`Could not connect to ${values.url}: ${error.message}`);
  process.exit(1);
});

socket.on('open', () => {
  socket.send(values.message);
});

let received = 0;
socket.on('message', (data) => {
  console.log(data.toString());
  received += 1;
  if (received === 2) {
    socket.close(1000, 'done');
  }
});

socket.on('close', (code) => {
  process.exit(code === 1000 ? 0 : 1);
});
