/**
 * Returns the demo's HTML page: a login form, connect buttons for the session cookie, a one-time
 * ticket and a token, a message log, a message input and logout. `framework` names the server
 * in the title. The page loads `@wsauth/client` from `/client.js` (see `clientScript`).
 */
export function demoPage(framework: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsauth ${framework} demo</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 42rem; margin: 2rem auto; padding: 0 1rem; }
  fieldset { margin-bottom: 1rem; }
  #log { border: 1px solid #999; min-height: 8rem; padding: .5rem; font-family: monospace; white-space: pre-wrap; }
  .error { color: #a00; }
</style>
</head>
<body>
<h1>wsauth ${framework} demo</h1>
<p id="status">Not logged in.</p>
<form id="login">
  <fieldset>
    <legend>Log in</legend>
    <label>Username <input name="username" id="username" autocomplete="username" value="alice"></label>
    <label>Password <input name="password" id="password" type="password" autocomplete="current-password"></label>
    <button type="submit" id="login-button">Log in</button>
  </fieldset>
</form>
<fieldset>
  <legend>WebSocket</legend>
  <button id="connect">Connect with the session cookie</button>
  <button id="connect-ticket">Connect with a ticket</button>
  <label>Token <input id="token" placeholder="alice-api-key" autocomplete="off"></label>
  <button id="connect-token">Connect with the token</button>
  <button id="disconnect">Disconnect</button>
  <button id="logout">Log out</button>
  <p><label><input type="checkbox" id="close-mode" checked> Refusals as close codes 4401/4403
  (a browser cannot read the HTTP status of a refused handshake)</label></p>
  <p id="connection">Not connected.</p>
  <p id="rejection" class="error" role="alert"></p>
</fieldset>
<form id="send">
  <input id="message" placeholder="Message" autocomplete="off">
  <button type="submit" id="send-button">Send</button>
</form>
<h2>Messages</h2>
<div id="log" aria-live="polite"></div>
<script src="/client.js"></script>
<script>
  const log = document.getElementById('log');
  const statusLine = document.getElementById('status');
  const connectionLine = document.getElementById('connection');
  const rejectionLine = document.getElementById('rejection');
  let client;
  // The demo guards check the session cookie before a token, and a browser sends the cookie on
  // every same-origin socket, so a token authenticates only when no session is logged in.
  let loggedIn = false;

  function write(text, isError) {
    const line = document.createElement('div');
    line.textContent = text;
    if (isError) line.className = 'error';
    log.append(line);
  }

  async function refreshStatus() {
    const response = await fetch('/api/me', { credentials: 'same-origin' });
    loggedIn = response.ok;
    if (response.ok) {
      const body = await response.json();
      statusLine.textContent = 'Logged in as ' + body.user.name + ' (' + body.user.id + ').';
    } else {
      statusLine.textContent = 'Not logged in.';
    }
  }

  document.getElementById('login').addEventListener('submit', async (event) => {
    event.preventDefault();
    const response = await fetch('/login', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      credentials: 'same-origin',
      body: JSON.stringify({
        username: document.getElementById('username').value,
        password: document.getElementById('password').value,
      }),
    });
    write(response.ok ? 'Logged in.' : 'Login failed: ' + response.status, !response.ok);
    await refreshStatus();
  });

  // Every flow goes through @wsauth/client: a cookie flow sends no credential of its own, a
  // ticket flow fetches a fresh ticket before each attempt, a token flow uses the subprotocol.
  function start(options, label) {
    if (client) client.close(1000, 'switching');
    rejectionLine.textContent = '';
    const query = document.getElementById('close-mode').checked ? '?rejections=close' : '';
    client = new WsAuthClient.WsAuthClient({
      url: '/ws' + query,
      reconnect: { maxAttempts: 5 },
      ...options,
    });
    client.on('connecting', () => { connectionLine.textContent = 'Connecting with ' + label + '...'; });
    // In close mode a refused handshake still opens before its 4401, so the page reports a
    // connection only once the server's welcome arrives.
    client.on('open', () => {
      connectionLine.textContent = 'Upgraded with ' + label + ', waiting for the welcome...';
    });
    client.on('message', (event) => {
      if (String(event.data).startsWith('{"type":"welcome"')) {
        const user = JSON.parse(event.data).user;
        connectionLine.textContent = 'Connected as ' + user.name + ' with ' + label + '.';
        write('Connected.');
      }
      write('Received: ' + event.data);
    });
    client.on('close', (event) => {
      write('Closed with code ' + event.code + (event.reason ? ': ' + event.reason : '') + '.', event.code !== 1000);
    });
    client.on('reconnecting', (event) => {
      connectionLine.textContent = 'Reconnecting in ' + event.delayMs + ' ms (attempt ' + event.attempt + ').';
    });
    client.on('rejected', (event) => {
      const meaning = event.code === 4401 ? 'not authenticated, log in again' : 'forbidden';
      rejectionLine.textContent = 'Connection refused (' + event.code + ', ' + meaning + '): ' + event.reason;
    });
    client.on('error', (event) => write('Error: ' + event.error.message, true));
    client.on('stopped', (event) => { connectionLine.textContent = 'Not connected (' + event.reason + ').'; });
    client.connect();
  }

  document.getElementById('connect').addEventListener('click', () => {
    start({}, 'the session cookie');
  });

  document.getElementById('connect-ticket').addEventListener('click', () => {
    start({ ticketUrl: '/api/ws-ticket' }, 'a one-time ticket');
  });

  document.getElementById('connect-token').addEventListener('click', async () => {
    // Another tab may have logged in or out since this page last looked.
    await refreshStatus();
    const label = loggedIn
      ? 'the session cookie, which is checked before the token (log out to use the token alone)'
      : 'a token';
    start({ token: document.getElementById('token').value }, label);
  });

  document.getElementById('disconnect').addEventListener('click', () => {
    if (client) client.close(1000, 'bye');
  });

  document.getElementById('logout').addEventListener('click', async () => {
    const response = await fetch('/logout', { method: 'POST', credentials: 'same-origin' });
    write(response.ok ? 'Logged out.' : 'Logout failed: ' + response.status, !response.ok);
    await refreshStatus();
  });

  document.getElementById('send').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('message');
    if (client && client.send(input.value)) {
      input.value = '';
    } else {
      write('Not connected.', true);
    }
  });

  refreshStatus();
</script>
</body>
</html>
`;
}
