// The public API, as the console uses it: bearer tokens kept for the tab's life (renewed
// with the refresh token when the short-lived access token expires), JSON in and
// out, errors as {status, code, message}, and the region's live stream read with fetch (an
// EventSource cannot send the Authorization header).

let token = sessionStorage.getItem('jemput.token');
let refreshToken = sessionStorage.getItem('jemput.refresh');
let refreshing = null;

export class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

export function signedIn() {
  return Boolean(token);
}

function keep(tokens) {
  token = tokens.access_token;
  refreshToken = tokens.refresh_token;
  sessionStorage.setItem('jemput.token', token);
  sessionStorage.setItem('jemput.refresh', refreshToken);
}

export function signOut() {
  if (refreshToken) {
    fetch('/v1/auth/logout', {
      method: 'POST',
      keepalive: true,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ refresh_token: refreshToken }),
    }).catch(() => {});
  }
  token = null;
  refreshToken = null;
  sessionStorage.removeItem('jemput.token');
  sessionStorage.removeItem('jemput.refresh');
}

/// Access tokens live minutes: a 401 trades the refresh token for new ones, once for all the
/// calls that hit it at the same moment. False when the session is over.
async function renew() {
  if (!refreshToken) return false;
  refreshing ||= fetch('/v1/auth/refresh', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ refresh_token: refreshToken }),
  }).then(async (response) => {
    if (!response.ok) return false;
    keep(await response.json());
    return true;
  }).catch(() => false).finally(() => { refreshing = null; });
  return refreshing;
}

async function send(method, path, body, headers) {
  const init = { method, headers: { ...headers } };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  return fetch(path, init);
}

export async function call(method, path, body, headers = {}) {
  let response = await send(method, path, body, headers);
  if (response.status === 401 && !path.startsWith('/v1/auth/') && (await renew())) {
    response = await send(method, path, body, headers);
  }
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, etag: response.headers.get('etag') };
}

export const get = (path) => call('GET', path).then((r) => r.data);

export async function signIn(username, password) {
  const { data } = await call('POST', '/v1/auth/login', { username, password });
  keep(data);
}

/// Reads the region's stream for as long as the page lives, reconnecting after a drop with
/// the last event's id so nothing is lost. `onEvent(kind, data)`; `onState(connected)`.
export function follow(regionId, onEvent, onState) {
  let lastId = null;
  const connect = async () => {
    try {
      const headers = { authorization: `Bearer ${token}` };
      if (lastId !== null) headers['last-event-id'] = String(lastId);
      const response = await fetch(`/v1/regions/${regionId}/stream`, { headers });
      // The stream ends when the access token expires; a new one resumes it.
      if (response.status === 401 && (await renew())) {
        connect();
        return;
      }
      if (!response.ok) throw new ApiError(response.status, null);
      onState(true);
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let kind = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) lastId = Number(line.slice(4));
            else if (line.startsWith('event: ')) kind = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (data) onEvent(kind, JSON.parse(data));
        }
      }
    } catch (error) {
      console.warn('live stream', error);
    }
    onState(false);
    if (token) setTimeout(connect, 3000);
  };
  connect();
}
