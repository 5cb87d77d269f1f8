// S0: raw ws on a plain HTTP server, no auth. The ceiling every other server is measured against.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import { onSocket, type ScenarioServer } from './common.js';

export function createRawServer(): ScenarioServer {
  const server = createServer((_req, res) => {
    res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server });
  wss.on('connection', (socket) => onSocket(socket, undefined));
  return { server };
}
