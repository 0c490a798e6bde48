// Drives Apple's CloudKit JS (npm tsl-apple-cloudkit, installed at test time, never committed)
// against a CloudKit fake over loopback. Prints one JSON object of what the client observed.
// env: CK_BASE_URL, CK_CONTAINER, CK_API_TOKEN, CK_WEB_AUTH_TOKEN, CK_ZONE
'use strict';

const CloudKit = require('tsl-apple-cloudkit');
// apiTokenAuth renders sign-in buttons; in Node it only needs a document that finds no elements.
global.document = global.document || { getElementById: () => null, querySelector: () => null,
  createElement: () => ({ style: {}, setAttribute() {}, appendChild() {}, addEventListener() {} }) };
const env = process.env;
const quiet = { info() {}, log() {}, warn() {}, error() {} };

function fail(step, err) {
  console.log(JSON.stringify({ ok: false, step, error: String(err && (err.ckErrorCode || err.message || err)) }));
  process.exit(1);
}

async function checked(step, promise) {
  const resp = await promise.catch((e) => fail(step, e));
  if (resp.hasErrors) fail(step, resp.errors[0]);
  return resp;
}

function tracingFetch(url, init) {
  if (env.CK_DEBUG) process.stderr.write(`fetch ${init && init.method} ${url} ${init && init.body}\n`);
  return globalThis.fetch(url, init);
}

async function control(name, body) {
  const resp = await globalThis.fetch(`${env.CK_BASE_URL}/_control/${name}`, { method: 'POST', body: JSON.stringify(body) });
  if (!resp.ok) fail(`control ${name}`, await resp.text());
}

// How Apple's client surfaces the fake's errors: throttling, atomic failure, expired sync token.
async function errors(db, zoneID) {
  const out = { ok: true };
  await checked('saveRecordZones', db.saveRecordZones([{ zoneID }]));
  await control('faults', { kind: 'throttle', op: 'records/modify', retry_after: 3 });
  const throttled = await db.saveRecords([{ recordType: 'DailyLog', recordName: 'e1', fields: {} }], { zoneID })
    .then((r) => (r.hasErrors ? r.errors[0] : null), (e) => e);
  out.throttled = throttled && { code: throttled.ckErrorCode, retryAfter: throttled.retryAfter };
  const saved = await checked('saveRecords', db.saveRecords([{ recordType: 'DailyLog', recordName: 'e1', fields: {} }], { zoneID }));
  const stale = saved.records[0].recordChangeTag;
  await checked('saveRecords(again)', db.saveRecords([{ recordType: 'DailyLog', recordName: 'e1', recordChangeTag: stale, fields: {} }], { zoneID }));
  const atomic = await db.newRecordsBatch({ zoneID, atomic: true }).create({ recordType: 'DailyLog', recordName: 'e2', fields: {} })
    .update({ recordType: 'DailyLog', recordName: 'e1', recordChangeTag: stale, fields: {} })
    .commit().then((r) => r, (e) => ({ hasErrors: true, errors: [e] }));
  out.atomic = atomic.errors.map((e) => e.ckErrorCode).sort();
  const first = await checked('fetchRecordZoneChanges', db.fetchRecordZoneChanges([{ zoneID }]));
  await control('expire-sync-tokens', { user: env.CK_USER || 'alice' });
  const expired = await db.fetchRecordZoneChanges([{ zoneID, syncToken: first.zones[0].syncToken }])
    .then((r) => (r.hasErrors ? r.errors[0] : null), (e) => e);
  out.expired = expired && { code: expired.ckErrorCode, reason: expired.reason };
  return out;
}

async function main() {
  CloudKit.configure({
    services: { fetch: tracingFetch, logger: env.CK_DEBUG ? console : quiet },
    containers: [{
      containerIdentifier: env.CK_CONTAINER, environment: 'development',
      apiTokenAuth: { apiToken: env.CK_API_TOKEN, persist: false, ckWebAuthToken: env.CK_WEB_AUTH_TOKEN },
      publicDatabasePartition: env.CK_BASE_URL, privateDatabasePartition: env.CK_BASE_URL,
    }],
  });
  const container = CloudKit.getDefaultContainer();
  const out = { ok: true };
  const identity = await container.setUpAuth().catch((e) => fail('setUpAuth', e));
  out.userRecordName = identity && identity.userRecordName;
  const db = container.privateCloudDatabase;
  const zoneID = { zoneName: env.CK_ZONE };
  if (env.CK_SCENARIO === 'errors') {
    console.log(JSON.stringify(await errors(db, zoneID)));
    process.exit(0);
  }

  await checked('saveRecordZones', db.saveRecordZones([{ zoneID }]));
  const created = await checked('saveRecords(create)', db.saveRecords(
    ['js1', 'js2', 'js3'].map((n, i) => ({ recordType: 'DailyLog', recordName: n, fields: { steps: { value: 100 + i } } })),
    { zoneID }));
  const tag1 = created.records[0].recordChangeTag;
  const fetched = await checked('fetchRecords', db.fetchRecords(['js1'], { zoneID }));
  out.fetchedSteps = fetched.records[0].fields.steps.value;
  const updated = await checked('saveRecords(update)', db.saveRecords([{ recordType: 'DailyLog', recordName: 'js1',
    recordChangeTag: tag1, fields: { steps: { value: 500 } } }], { zoneID }));
  out.tagChanged = updated.records[0].recordChangeTag !== tag1;
  const stale = await db.saveRecords([{ recordType: 'DailyLog', recordName: 'js1', recordChangeTag: tag1,
    fields: { steps: { value: 1 } } }], { zoneID }).catch((e) => fail('saveRecords(stale)', e));
  out.staleSaveError = stale.hasErrors ? stale.errors[0].ckErrorCode : null;

  // Zone changes, one record per page, then a delete seen as a tombstone from the saved token.
  let token, pages = 0, more = true;
  const seen = {};
  while (more) {
    const resp = await checked('fetchRecordZoneChanges', db.fetchRecordZoneChanges([{ zoneID, syncToken: token, resultsLimit: 1 }]));
    const zone = resp.zones[0];
    zone.records.forEach((r) => { seen[r.recordName] = r.deleted ? null : r.fields.steps.value; });
    token = zone.syncToken; more = zone.moreComing; pages += 1;
  }
  out.pages = pages;
  out.seen = seen;
  await checked('deleteRecords', db.deleteRecords(['js2'], { zoneID }));
  const after = await checked('fetchRecordZoneChanges(after delete)', db.fetchRecordZoneChanges([{ zoneID, syncToken: token }]));
  out.afterDelete = after.zones[0].records.map((r) => ({ recordName: r.recordName, deleted: !!r.deleted }));
  const zones = await checked('fetchAllRecordZones', db.fetchAllRecordZones());
  out.zones = zones.zones.map((z) => z.zoneID.zoneName).sort();
  const dbChanges = await checked('fetchDatabaseChanges', db.fetchDatabaseChanges());
  out.changedZones = dbChanges.zones.map((z) => z.zoneID.zoneName).sort();
  console.log(JSON.stringify(out));
  process.exit(0);   // CloudKit JS keeps timers alive; the run is over
}

main().catch((e) => fail('main', e));
