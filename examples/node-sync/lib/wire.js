'use strict';
// The one fetch both SDKs are given (supabase-js `global.fetch`, CloudKit JS `services.fetch`):
// the device's network boundary. It stops at the fault points before_send and after_reply, and
// waits out 429/503 answers (their retryAfter, on the device's clock, through the harness's
// `sleep` event) before handing the SDK the last answer.
const MAX_ATTEMPTS = 3;

function makeFetch(device, pathName, onResponse) {
  return async function deviceFetch(url, init) {
    const target = typeof url === 'string' ? url : url.url || String(url);
    const method = (init && init.method) || 'GET';
    for (let attempt = 1; ; attempt += 1) {
      await device.faultPoint('before_send', pathName);
      let response;
      try {
        response = await globalThis.fetch(target, init);
      } catch (e) {        // no answer (dropped connection, lost reply): the outcome is unknown
        const lost = new Error(`${method} ${new URL(target).pathname} got no answer (${(e.cause && e.cause.code) || e.message})`);
        lost.name = 'TransportError';
        throw lost;
      }
      await device.faultPoint('after_reply', pathName);
      if (onResponse) onResponse(response);
      if (![429, 503].includes(response.status) || attempt === MAX_ATTEMPTS) return response;
      const wait = await retryAfter(response, attempt);
      device.log(`${pathName}: ${method} ${new URL(target).pathname} answered ${response.status}; waiting ${wait} s`);
      await device.sleep(wait);
    }
  };
}

async function retryAfter(response, attempt) {
  let value = response.headers.get('retry-after');
  try {
    const body = await response.clone().json();
    if (body && body.retryAfter !== undefined) value = body.retryAfter;
  } catch (e) { /* not JSON: the header, or the backoff */ }
  const seconds = Number(value);
  return value !== null && value !== undefined && Number.isFinite(seconds) ? seconds : 2 ** attempt;
}

module.exports = { makeFetch };
