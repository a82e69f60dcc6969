// The public API, as the console uses it: a bearer token kept for the tab's life, JSON in and
// out, errors as {status, code, message}, and the region's live stream read with fetch (an
// EventSource cannot send the Authorization header).

let token = sessionStorage.getItem('jemput.token');

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

export function signOut() {
  token = null;
  sessionStorage.removeItem('jemput.token');
}

export async function call(method, path, body, headers = {}) {
  const init = { method, headers: { ...headers } };
  if (token) init.headers.authorization = `Bearer ${token}`;
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return { data, etag: response.headers.get('etag') };
}

export const get = (path) => call('GET', path).then((r) => r.data);

export async function signIn(username, password) {
  const { data } = await call('POST', '/v1/auth/login', { username, password });
  token = data.access_token;
  sessionStorage.setItem('jemput.token', token);
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
