/**
 * Returns the demo's HTML page: a login form, a connect button, a message log, a message input
 * and logout. `framework` names the server in the title.
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
  <button id="disconnect">Disconnect</button>
  <button id="logout">Log out</button>
</fieldset>
<form id="send">
  <input id="message" placeholder="Message" autocomplete="off">
  <button type="submit" id="send-button">Send</button>
</form>
<h2>Messages</h2>
<div id="log" aria-live="polite"></div>
<script>
  const log = document.getElementById('log');
  const statusLine = document.getElementById('status');
  let socket;

  function write(text, isError) {
    const line = document.createElement('div');
    line.textContent = text;
    if (isError) line.className = 'error';
    log.append(line);
  }

  async function refreshStatus() {
    const response = await fetch('/api/me', { credentials: 'same-origin' });
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

  document.getElementById('connect').addEventListener('click', () => {
    if (socket) socket.close();
    const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/ws';
    socket = new WebSocket(url);
    socket.addEventListener('open', () => write('Connected.'));
    socket.addEventListener('message', (event) => write('Received: ' + event.data));
    socket.addEventListener('close', (event) => {
      write('Closed with code ' + event.code + (event.reason ? ': ' + event.reason : '') + '.', event.code !== 1000);
    });
  });

  document.getElementById('disconnect').addEventListener('click', () => {
    if (socket) socket.close(1000, 'bye');
  });

  document.getElementById('logout').addEventListener('click', async () => {
    const response = await fetch('/logout', { method: 'POST', credentials: 'same-origin' });
    write(response.ok ? 'Logged out.' : 'Logout failed: ' + response.status, !response.ok);
    await refreshStatus();
  });

  document.getElementById('send').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = document.getElementById('message');
    if (socket && socket.readyState === WebSocket.OPEN) {
      socket.send(input.value);
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
