"""A tiny adapter that answers hello, configure and snapshot, then misbehaves as MODE says:

crash        exits with status 3 when asked to sign up
hang         never answers sign_up, and says nothing
hang_write   signs up, then never answers a write (a step the World awaits directly)
not_json     prints a line of prose to stdout
late         answers sign_up after 3 s (the tests set the command timeout to 1 s)
twice        answers sign_up twice
protocol     speaks protocol 2
unhonoured   claims the before_send fault point but sends a request without stopping there
gap          answers each sign_up/sign_in/sign_out after one request to Supabase, the answer
             following the response by a gap that steps through 0 to 2 ms (a well-behaved adapter;
             the harness must not mistake the moment in between for quiet)
"""

import json
import sys
import time
import urllib.error
import urllib.request

MODE = sys.argv[1]
POLICY = {"order": "arrival", "granularity": "record", "respects_needs_sync": False}
EMPTY = {t: {} for t in ("profiles", "photos", "daily_logs", "weekly_snapshots", "cardio_sessions")}
urls = {}
gaps = 0


def say(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    m = json.loads(line)
    cmd, cid = m.get("cmd"), m.get("id")
    if cmd is None:
        continue  # notices
    if cmd == "hello":
        caps = ["fault_points"] if MODE == "unhonoured" else []
        say({"id": cid, "ok": True, "value": {"protocol": 2 if MODE == "protocol" else 1,
             "profile": "fitme", "client": f"bad adapter ({MODE})", "capabilities": caps,
             "fault_points": ["before_send"] if MODE == "unhonoured" else [], "policy": POLICY}})
    elif cmd == "configure":
        urls = {"supabase": m["args"]["supabase"]["url"]}
        say({"id": cid, "ok": True, "value": None})
    elif cmd == "snapshot":
        say({"id": cid, "ok": True, "value": EMPTY})
    elif cmd == "shutdown":
        say({"id": cid, "ok": True, "value": None})
        sys.exit(0)
    elif cmd in ("sign_up", "sign_in", "sign_out") and MODE == "gap":
        try:
            urllib.request.urlopen(urls["supabase"] + "/auth/v1/settings", timeout=30).read()
        except urllib.error.HTTPError:
            pass  # an answer all the same
        until = time.perf_counter() + (gaps % 81) * 25e-6
        gaps += 1
        while time.perf_counter() < until:
            pass
        say({"id": cid, "ok": True, "value": {"user_id": "00000000-0000-4000-8000-00000000000a"}
             if cmd != "sign_out" else None})
    elif cmd == "read" and MODE == "hang_write":
        say({"id": cid, "ok": True, "value": {"fields": None}})
    elif cmd == "write" and MODE == "hang_write":
        time.sleep(600)
    elif cmd == "sign_up" and MODE == "hang_write":
        say({"id": cid, "ok": True, "value": {"user_id": "00000000-0000-4000-8000-00000000000a"}})
    elif cmd == "sign_up" and MODE == "crash":
        print("bad adapter: giving up", file=sys.stderr)
        sys.exit(3)
    elif cmd == "sign_up" and MODE == "hang":
        time.sleep(600)
    elif cmd == "sign_up" and MODE == "not_json":
        print("signing up alice now")
    elif cmd == "sign_up" and MODE == "late":
        time.sleep(3)
        say({"id": cid, "ok": True, "value": None})
    elif cmd == "sign_up" and MODE == "twice":
        say({"id": cid, "ok": True, "value": None})
        say({"id": cid, "ok": True, "value": None})
    elif cmd == "sign_up" and MODE == "unhonoured":
        request = urllib.request.Request(urls["supabase"] + "/auth/v1/signup", method="POST",
                                         data=b"{}", headers={"content-type": "application/json"})
        try:
            urllib.request.urlopen(request, timeout=30)
        except Exception as exc:  # the harness closes the connection
            print(f"bad adapter: {exc}", file=sys.stderr)
        time.sleep(600)
    else:
        say({"id": cid, "ok": False, "error": {"kind": "bad_command", "message": cmd}})
