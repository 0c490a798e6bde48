// supabase-js against a Supabase API: each case makes the calls an app makes, shaped by the JS client
// itself (its select-string cleaning, its referencedTable options, its Accept and Prefer headers), and
// returns what the client handed back. The Python side (test_supabase_js.py) asserts on the results.
//
//   SB_URL, SB_ANON_KEY, SB_SERVICE_KEY   the target
//   SB_CASES                               comma list of case names (default: all)
//
// Prints one JSON line: {"<case>": {"data", "error", "count", "status"} | {"thrown": "..."}, ...}.
"use strict";

const { createClient } = require("@supabase/supabase-js");

const url = process.env.SB_URL;
// Realtime is never opened; on Node 20 (no global WebSocket) supabase-js wants a transport named up
// front, so it gets one that refuses to connect.
class NoWebSocket {
  constructor() { throw new Error("the contract tier does not use Supabase Realtime"); }
}
const options = { auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
                  realtime: { transport: NoWebSocket } };
const anon = () => createClient(url, process.env.SB_ANON_KEY, options);
const service = () => createClient(url, process.env.SB_SERVICE_KEY, options);
const email = () => `js-${Date.now()}-${Math.random().toString(16).slice(2, 10)}@example.com`;
const PASSWORD = "correct-horse-js";

// What a postgrest-js or auth-js call resolved to, reduced to what the contracts look at.
function result(r) {
  const error = r.error ? { code: r.error.code, message: r.error.message, status: r.error.status,
                            details: r.error.details ?? null, hint: r.error.hint ?? null } : null;
  return { data: r.data ?? null, error, count: r.count ?? null, status: r.status ?? null };
}

const cases = {
  // ---- resource embedding (the emb_* tables of contract_schema.sql) -------------------------
  async embed_to_many() {
    return result(await anon().from("emb_parents")
      .select(`id,
               emb_children ( id, name )`)          // the client strips the whitespace
      .order("id").order("id", { referencedTable: "emb_children" }));
  },
  async embed_to_one_single() {
    return result(await anon().from("emb_children").select("name, emb_parents(name)").eq("id", 10).single());
  },
  async embed_inner_filtered() {
    return result(await anon().from("emb_parents").select("id, emb_children!inner(name)")
      .eq("emb_children.name", "b1"));
  },
  async embed_referenced_limit() {
    return result(await anon().from("emb_parents").select("id, emb_children(id)").eq("id", 1)
      .order("id", { referencedTable: "emb_children", ascending: false }).limit(1, { referencedTable: "emb_children" }));
  },
  async embed_many_to_many() {
    return result(await anon().from("emb_parents").select("name, emb_tags(label)").eq("id", 1)
      .order("id", { referencedTable: "emb_tags" }));
  },
  async embed_spread() {
    return result(await anon().from("emb_children").select("name, ...emb_parents(parent_name:name)").eq("id", 12));
  },
  async embed_unknown() {
    return result(await anon().from("emb_parents").select("id, nope(*)"));
  },

  // ---- GoTrue ------------------------------------------------------------------------------
  async auth_anonymous_disabled() {
    return result(await anon().auth.signInAnonymously());
  },
  async auth_update_user() {
    const client = anon();
    const up = await client.auth.signUp({ email: email(), password: PASSWORD });
    if (up.error) return result(up);
    return result(await client.auth.updateUser({ data: { plan: "pro" } }));
  },
  async auth_admin_round_trip() {
    const admin = service().auth.admin;
    const address = email();
    const made = await admin.createUser({ email: address, password: PASSWORD, email_confirm: true,
                                          user_metadata: { from: "js" } });
    if (made.error) return result(made);
    const id = made.data.user.id;
    const got = await admin.getUserById(id);
    const gone = await admin.deleteUser(id);
    const after = await admin.getUserById(id);
    return { data: { email: got.data.user?.email, metadata: got.data.user?.user_metadata,
                     identities: (got.data.user?.identities ?? []).map((i) => i.provider),
                     deleted: gone.error === null, afterStatus: after.error?.status ?? null,
                     matches: got.data.user?.email === address }, error: null, count: null, status: null };
  },
  async auth_admin_refused_for_anon() {
    return result(await anon().auth.admin.listUsers());
  },

  // ---- RPC (the contract_* functions of contract_schema.sql) --------------------------------
  async rpc_count_get() {
    return result(await anon().rpc("contract_add", { a: 3, b: 4 }, { get: true, count: "exact" }));
  },
  async rpc_count_head() {
    return result(await anon().rpc("contract_numbers", { n: 4 }, { head: true, count: "exact" }));
  },
  async rpc_composite_select() {
    return result(await anon().rpc("contract_rpc_pair", { id: 4 }).select("id"));
  },
  async rpc_unnamed_text() {
    return result(await anon().rpc("contract_rpc_poly", { "": "test" }));
  },
  async rpc_unnamed_integer() {
    return result(await anon().rpc("contract_rpc_unnamed_int", { "": 1 }));
  },
  async rpc_ambiguous() {
    return result(await anon().rpc("contract_rpc_same", { arg: 1 }));
  },
  async rpc_max_affected() {
    const client = anon();
    const up = await client.auth.signUp({ email: email(), password: PASSWORD });
    if (up.error) return result(up);
    const tag = `js-${Date.now()}`;
    const refused = result(await client.rpc("contract_rpc_make_logs", { n: 2, tag }).maxAffected(1));
    const left = await client.from("daily_logs").select("id").eq("payload", tag);
    return { ...refused, data: { rowsLeft: (left.data ?? []).length } };
  },

  // ---- REST behaviours (contract_rest_items of contract_schema.sql; each case its own tag) -----
  async rest_strip_nulls() {
    const tag = `js-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
    const items = anon().from("contract_rest_items");
    await items.insert([{ tag, n: 1, note: null }, { tag, n: 2, note: "x" }]);
    const single = await items.select("n,note").eq("tag", tag).eq("n", 1).single().stripNulls();
    const many = await items.select("n,note").eq("tag", tag).order("n").stripNulls();
    return { data: { single: single.data, many: many.data }, error: single.error || many.error, count: null,
             status: many.status };
  },
  async rest_csv_or_array_planned() {
    const tag = `js-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
    const items = anon().from("contract_rest_items");
    await items.insert([{ tag, n: 1, labels: ["test", "one"], note: "a,b" }, { tag, n: 2, labels: ["two"], note: null }]);
    const csv = await items.select("n,note").eq("tag", tag).or("labels.cs.{test,one},note.eq.zz").csv();
    const planned = await items.select("id", { count: "planned", head: true }).eq("id", crypto.randomUUID());
    return { data: { csv: csv.data, planned: planned.count, plannedStatus: planned.status },
             error: csv.error || planned.error, count: null, status: csv.status };
  },
  // postgrest-js's rollback() (Prefer: tx=rollback) under db-tx-end=commit-allow-override, which
  // contract_set_tx_end turns on for this database and off again (test_rest_tx.py does the same).
  async rest_rollback() {
    const tag = `js-${Date.now()}-${Math.random().toString(16).slice(2, 8)}`;
    const items = () => anon().from("contract_rest_items");
    const rows = async () => (await items().select("note").eq("tag", tag).order("note")).data;
    const switchTo = async (txEnd, override) => {       // PostgREST applies it once the NOTIFY reaches it
      const set = await service().rpc("contract_set_tx_end", { tx_end: txEnd });
      if (set.error) throw new Error(`contract_set_tx_end: ${set.error.message}`);
      const probe = `${tag}-probe-${txEnd}`;
      for (let i = 0; i < 200; i++) {
        await anon().from("contract_rest_items").insert({ tag: probe }).rollback();
        const left = (await anon().from("contract_rest_items").select("id").eq("tag", probe)).data.length;
        if ((left === 0) === override) return;
        await new Promise((done) => setTimeout(done, 50));
      }
      throw new Error(`db-tx-end=${txEnd || "commit"} was not applied within 10 s`);
    };
    await switchTo("commit-allow-override", true);
    try {
      const inserted = await items().insert([{ tag, note: "a" }, { tag, note: "b" }]).select("note").rollback();
      const called = await anon().rpc("contract_tx_insert", { tag, copies: 2 }).select("note").rollback();
      const updated = await items().insert({ tag, note: "kept" }).then(() =>
        items().update({ note: "changed" }).eq("tag", tag).select("note").rollback());
      return { data: { inserted: inserted.data, called: called.data, updated: updated.data, after: await rows() },
               error: inserted.error || called.error || updated.error, count: null, status: inserted.status };
    } finally {
      await switchTo("", false);
    }
  },
  // ---- exposed schemas (test_rest_schemas.py exposes contract_personal beside public first) ------
  async schema_switch() {
    const personal = anon().schema("contract_personal");
    const parents = await personal.from("emb_parents").select("name, emb_children(name)").eq("id", 1);
    const posted = await personal.rpc("contract_where");                      // POST: Content-Profile
    const got = await personal.rpc("contract_where", {}, { get: true });       // GET: Accept-Profile
    const refused = await anon().schema("emb_private").from("emb_parents").select("*");
    return { data: { parents: parents.data, posted: posted.data && posted.data.schema,
                     got: got.data && got.data.schema, refused: refused.error && refused.error.code,
                     refusedStatus: refused.status },
             error: parents.error || posted.error || got.error, count: null, status: parents.status };
  },
};

async function main() {
  const wanted = (process.env.SB_CASES || Object.keys(cases).join(",")).split(",");
  const out = {};
  for (const name of wanted) {
    if (!cases[name]) {
      out[name] = { thrown: `no such case ${name}` };
      continue;
    }
    try {
      out[name] = await cases[name]();
    } catch (err) {
      out[name] = { thrown: String(err && err.stack || err) };
    }
  }
  console.log(JSON.stringify(out));
}

main().catch((err) => { console.error(err); process.exit(1); });
