// The live feed: GET /api/v1/feed as server-sent events, read with fetch() because the token
// travels in the Authorization header (EventSource cannot send it). Reconnects with backoff and
// Last-Event-ID, so that the server replays what was missed.

// Parses an SSE byte stream (WHATWG HTML, "event stream interpretation"); calls onEvent with
// {event, data, id} for each dispatched event and onComment for comment lines.
export async function readEventStream(body, onEvent, onComment = () => {}) {
  const reader = body.getReader();
  const decoder = new TextDecoder('utf-8');
  let buffer = '';
  let event = '';
  let data = [];
  let id;
  let sawCR = false;
  const line = (l) => {
    if (l === '') {
      if (data.length > 0) onEvent({ event: event || 'message', data: data.join('\n'), id });
      event = '';
      data = [];
      id = undefined;
      return;
    }
    if (l.startsWith(':')) {
      onComment(l.slice(1).trim());
      return;
    }
    const colon = l.indexOf(':');
    const name = colon < 0 ? l : l.slice(0, colon);
    let value = colon < 0 ? '' : l.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'event') event = value;
    else if (name === 'data') data.push(value);
    else if (name === 'id' && !value.includes('\0')) id = value;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let start = 0;
    for (let i = 0; i < buffer.length; i++) {
      const c = buffer[i];
      if (c === '\n' && sawCR) {
        sawCR = false;
        start = i + 1;
        continue;
      }
      sawCR = false;
      if (c === '\r' || c === '\n') {
        line(buffer.slice(start, i));
        sawCR = c === '\r';
        start = i + 1;
      }
    }
    buffer = buffer.slice(start);
  }
}

// Opens the feed and keeps it open. onEvent({event, data (parsed JSON or text), id});
// onState('connecting' | 'live' | 'reconnecting' | 'unavailable' | 'denied').
// A 401 (the token was revoked or expired) calls onUnauthorized and stops: the page signs out.
// Returns {close()}.
export function openFeed({ token, onEvent, onState = () => {}, onUnauthorized = () => {}, fetchImpl = fetch, idleMs = 45000 }) {
  let lastId = null;
  let closed = false;
  let controller = null;
  let backoff = 1000;
  let wake = null;

  const sleep = (ms) =>
    new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(t);
        resolve();
      };
    });

  async function once() {
    controller = new AbortController();
    let idle = null;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(), idleMs);
    };
    const headers = { Authorization: 'Bearer ' + token, Accept: 'text/event-stream' };
    if (lastId !== null) headers['Last-Event-ID'] = lastId;
    try {
      touch();
      const res = await fetchImpl('/api/v1/feed', {
        headers,
        signal: controller.signal,
        cache: 'no-store',
        credentials: 'omit',
      });
      if (res.status === 401) return 'unauthorized';
      if (res.status === 403) return 'denied';
      if (res.status === 404) return 'unavailable';
      if (!res.ok || !res.body) return 'retry';
      onState('live');
      backoff = 1000;
      await readEventStream(
        res.body,
        (ev) => {
          touch();
          if (ev.id !== undefined) lastId = ev.id;
          let data = ev.data;
          try {
            data = JSON.parse(ev.data);
          } catch {
            /* plain text */
          }
          onEvent({ event: ev.event, data, id: ev.id });
        },
        touch,
      );
      return 'retry';
    } catch {
      return 'retry';
    } finally {
      clearTimeout(idle);
    }
  }

  (async () => {
    onState('connecting');
    while (!closed) {
      const outcome = await once();
      if (closed) return;
      if (outcome === 'unauthorized') {
        onState('denied');
        closed = true;
        onUnauthorized();
        return;
      }
      if (outcome === 'denied' || outcome === 'unavailable') {
        onState(outcome);
        // The feed may be missing on an older server: try again now and then.
        await sleep(60000);
        continue;
      }
      onState('reconnecting');
      await sleep(backoff + Math.random() * 500);
      backoff = Math.min(backoff * 2, 30000);
    }
  })();

  return {
    close() {
      closed = true;
      if (controller) controller.abort();
      if (wake) wake();
    },
    get lastEventId() {
      return lastId;
    },
  };
}
