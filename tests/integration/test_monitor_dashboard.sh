#!/usr/bin/env bash
# perfkit monitor's dashboard in a real browser (headless Chromium), driven
# over the DevTools protocol: with a token, the page (which holds no data) is
# served to anyone, its data only with the token, taken from the URL's
# fragment or typed into its form; the charts span the chosen window on a
# labelled time axis, draw each series in its own colour with a legend, and
# plot the busiest interfaces; alert values carry their metric's unit and
# alert times are in the browser's zone, as the header. Every process is
# bounded (--duration, timeouts) and stopped on exit. PK_DASHBOARD_SHOTS=DIR
# keeps screenshots of the pages checked.
. "$(dirname "$0")/lib.sh"
command -v chromium >/dev/null 2>&1 || skip "chromium is not installed (make deps)"

# cdp.py URL STEP...: opens URL in headless Chromium and runs each STEP in the
# page, an async function body whose result is printed as JSON, one line per
# STEP ("shot:FILE" saves a screenshot instead), over the DevTools protocol on
# a pipe (--remote-debugging-pipe: commands on fd 3, answers on fd 4).
cat >"$TMP/cdp.py" <<'PY'
import base64, json, os, subprocess, sys, time
url, steps = sys.argv[1], sys.argv[2:]
to_c, from_c = os.pipe(), os.pipe()
def child_fds():
    a, b = os.dup(to_c[0]), os.dup(from_c[1])
    os.dup2(a, 3); os.dup2(b, 4)
    for fd in (to_c[0], to_c[1], from_c[0], from_c[1], a, b):
        if fd not in (3, 4): os.close(fd)
p = subprocess.Popen(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                      "--no-first-run", "--remote-debugging-pipe", "--window-size=1300,1000", "about:blank"],
                     close_fds=False, preexec_fn=child_fds, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
os.close(to_c[0]); os.close(from_c[1])
buf, nid, events, deadline = b"", 0, [], time.time() + 90
def receive():
    global buf
    while b"\0" not in buf:
        if time.time() > deadline: raise SystemExit("cdp: Chromium did not answer in time")
        chunk = os.read(from_c[0], 65536)
        if not chunk: raise SystemExit("cdp: Chromium went away")
        buf += chunk
    msg, buf = buf.split(b"\0", 1)
    return json.loads(msg)
def send(method, params=None, session=None):
    global nid
    nid += 1
    m = {"id": nid, "method": method, "params": params or {}}
    if session: m["sessionId"] = session
    os.write(to_c[1], json.dumps(m).encode() + b"\0")
    while True:
        o = receive()
        if o.get("id") == nid:
            if "error" in o: raise SystemExit("cdp: %s: %s" % (method, o["error"]))
            return o["result"]
        events.append(o.get("method"))
try:
    t = send("Target.createTarget", {"url": "about:blank"})["targetId"]
    s = send("Target.attachToTarget", {"targetId": t, "flatten": True})["sessionId"]
    send("Page.enable", {}, s)
    send("Page.navigate", {"url": url}, s)
    while "Page.loadEventFired" not in events:
        events.append(receive().get("method"))
    for step in steps:
        if step.startswith("shot:"):
            png = send("Page.captureScreenshot", {"format": "png"}, s)["data"]
            open(step[5:], "wb").write(base64.b64decode(png))
            print("null")
            continue
        r = send("Runtime.evaluate", {"expression": "(async () => {" + step + "})()", "awaitPromise": True,
                                      "returnByValue": True}, s)
        if "exceptionDetails" in r: raise SystemExit("cdp: step failed: %s" % r["exceptionDetails"]["text"])
        print(json.dumps(r["result"].get("value")))
finally:
    p.kill(); p.wait()
PY
# page URL STEP...: cdp.py with a timeout (the steps wait for what they need, at most 10 s each)
page() { timeout 120 $PY "$TMP/cdp.py" "$@" 2>&1; }
# shot NAME: a step saving a screenshot as PK_DASHBOARD_SHOTS/NAME.png, or a no-op
shot() { if [ -n "${PK_DASHBOARD_SHOTS:-}" ]; then echo "shot:$PK_DASHBOARD_SHOTS/$1.png"; else echo "return null"; fi; }
[ -n "${PK_DASHBOARD_SHOTS:-}" ] && mkdir -p "$PK_DASHBOARD_SHOTS"
# JS: until(COND) waits for the page's COND, 10 s at most
UNTIL='const until = async (f) => { for (let i = 0; i < 100 && !f(); i++) await new Promise((r) => setTimeout(r, 100)); return f(); };'
# JS: the data attributes of a canvas and the legend's entries
DATA="$UNTIL const el = (id) => document.getElementById(id);
const chart = (id) => Object.assign({}, el(id + '-chart').dataset, { legend: [...el(id + '-legend').children].map((k) => k.textContent), colors: [...el(id + '-legend').children].map((k) => k.style.getPropertyValue('--c').trim()) });"

TOKEN=a-long-enough-secret-token-123
printf '%s\n' "$TOKEN" >"$TMP/token"
PORT=$(free_port)
A="http://127.0.0.1:$PORT"
AUTH=(-H "Authorization: Bearer $TOKEN")
start_bg "$PERFKIT" monitor --listen "127.0.0.1:$PORT" --auth-token-file "$TMP/token" --db "$TMP/a.db" \
    --interval 250ms --duration 120s --probe "tcp://127.0.0.1:$PORT" \
    --alert 'MemUsed: perfkit_memory_used_ratio >= 0 for 0s' \
    --alert 'MemAvailable: node_memory_MemAvailable_bytes > 0 for 0s' 2>"$TMP/agent.log"
wait_for 10 http_ok "$A/ready" "${AUTH[@]}" || die "the agent with a token becomes ready" "$(cat "$TMP/agent.log")"
# samples N: the agent has taken N samples
samples() { ge "$(http "${AUTH[@]}" "$A/metrics" 2>/dev/null | awk '$1 == "perfkit_agent_samples_total" { print $2 }')" "$1"; }
wait_for 10 samples 8

# ---- with a token: the page for anyone, the data only with the token
http -D "$TMP/h" -o "$TMP/page.html" "$A/"
contains "GET / without the token: 200" "$(head -1 "$TMP/h")" " 200"
contains "  ... the page carries a Content-Security-Policy" "$(cat "$TMP/h")" \
    "Content-Security-Policy: default-src 'none'; script-src 'sha256-"
check "  ... and no data: not the host's name" sh -c "! grep -qF '$(hostname)' '$TMP/page.html'"
for p in /api/status /api/alerts "/api/history?metric=node_load1" /metrics /health /ready; do
    contains "$p without the token: 401" "$(http_code "$A$p")" 401
done
contains "/api/status with the token: 200" "$(http_code "$A/api/status" "${AUTH[@]}")" 200

got=$(page "$A/#token=$TOKEN" "$UNTIL return [await until(() => document.getElementById('host').textContent.includes('CPUs')),
    document.getElementById('host').textContent, document.getElementById('main').hidden,
    document.getElementById('login').hidden, location.href]" "$(shot with-token)")
contains "Chromium, #token=...: the dashboard shows the host" "$got" "[true, \"$(hostname) "
contains "  ... the data shown, the form hidden" "$got" ", false, true, "
contains "  ... and the token is taken off the address bar" "$got" "\"$A/\"]"

got=$(page "$A/" "$UNTIL return [await until(() => !document.getElementById('login').hidden),
    document.getElementById('main').hidden, document.body.innerText.includes('$(hostname)')]" "$(shot no-token)")
contains "Chromium without the token: the token form, and nothing else" "$got" "[true, true, false]"
got=$(page "$A/#token=not-the-right-one-at-all" "$UNTIL return [await until(() => !document.getElementById('login').hidden),
    document.getElementById('login-why').textContent, document.body.innerText.includes('$(hostname)')]")
contains "Chromium with a wrong token: the form says it was refused" "$got" \
    '[true, "The agent refused this token: enter the right one.", false]'
got=$(page "$A/" "$UNTIL await until(() => !document.getElementById('login').hidden);
    document.getElementById('token').value = '$TOKEN'; document.getElementById('login').requestSubmit();
    return [await until(() => document.getElementById('host').textContent.includes('CPUs')), document.getElementById('login').hidden]")
contains "Chromium: the token typed into the form shows the dashboard" "$got" "[true, true]"

# ---- charts: the window on a labelled time axis, a colour and a legend entry per series
got=$(TZ=Asia/Kolkata page "$A/#token=$TOKEN" "$DATA
    await until(() => el('disk-legend').children.length && el('probe-legend').children.length && el('alerts').rows.length >= 2);
    return [chart('cpu'), chart('disk'), chart('probe'), el('updated').textContent]" "$(shot charts-1h)")
echo "$got" | head -1 >"$TMP/charts.json"
http "${AUTH[@]}" -o "$TMP/status.json" "$A/api/status"
jcheck "the CPU chart spans the window chosen (1 hour), not the data" "$TMP/charts.json" \
    'int(j[0]["to"]) - int(j[0]["from"]) == 3600000 and int(j[0]["points"]) >= 1'
jcheck "  ... under 3 to 6 time labels (HH:MM, 10 minutes apart)" "$TMP/charts.json" \
    'import re; l = j[0]["xlabels"].split("|"); 3 <= len(l) <= 6 and all(re.fullmatch(r"\d\d:\d0", x) for x in l)'
jcheck "the disk chart: one legend entry per filesystem, each in its own colour" "$TMP/charts.json" \
    "import json; fs = [f['mountpoint'] for f in json.load(open('$TMP/status.json'))['disk']['filesystems_used_ratio']][:6]; j[1]['legend'] == fs and len(set(j[1]['colors'])) == len(fs) and int(j[1]['series']) == len(fs)"
jcheck "the probe chart: the probe in the legend" "$TMP/charts.json" "j[2]['legend'] == ['tcp://127.0.0.1:$PORT']"
jcheck "the header names the browser's zone (TZ=Asia/Kolkata)" "$TMP/charts.json" '"UTC+05:30" in j[3]'
got=$(page "$A/#token=$TOKEN" "$DATA await until(() => el('cpu-chart').dataset.to);
    el('window').value = '300'; el('window').dispatchEvent(new Event('change'));
    await until(() => el('cpu-chart').dataset.to - el('cpu-chart').dataset.from === 300000);
    return chart('cpu')" "$(shot charts-5m)")
echo "$got" | head -1 >"$TMP/cpu5.json"
jcheck "5 minutes chosen: the chart spans 5 minutes, labelled each minute" "$TMP/cpu5.json" \
    'import re; l = j["xlabels"].split("|"); int(j["to"]) - int(j["from"]) == 300000 and len(l) == 5 and all(re.fullmatch(r"\d\d:\d\d", x) for x in l)'

# ---- alerts: values in their metric's unit, times in the header's zone
got=$(TZ=Asia/Kolkata page "$A/#token=$TOKEN" "$DATA await until(() => el('alerts').rows.length >= 2 && el('alerts').rows[0].cells.length > 1);
    return [...el('alerts').rows].map((r) => [...r.cells].map((c) => c.textContent).concat([r.cells[2].title]))")
echo "$got" | head -1 >"$TMP/alerts.json"
jcheck "an alert on a ratio shows its value and threshold in %" "$TMP/alerts.json" \
    'import re; r = [r for r in j if r[0] == "MemUsed"][0]; re.fullmatch(r"\d+\.\d %", r[3]) and r[4] == ">= 0.0 %"'
jcheck "an alert on bytes shows them in KiB, MiB or GiB" "$TMP/alerts.json" \
    'import re; r = [r for r in j if r[0] == "MemAvailable"][0]; re.fullmatch(r"\d+\.\d [KMG]iB", r[3]) and r[4] == "> 0 B"'
jcheck "alert times in the browser's zone (UTC+05:30), as the header" "$TMP/alerts.json" \
    'from datetime import datetime, timedelta; r = [r for r in j if r[0] == "MemUsed"][0]; t = datetime.strptime(r[6], "%Y-%m-%dT%H:%M:%SZ") + timedelta(hours=5, minutes=30); r[2] == t.strftime("%Y-%m-%d %H:%M:%S")'
stop_bg "$BG_PID" 20

# ---- the network chart: the busiest interface, not the first one. A /proc
# tree whose net/dev lists an idle ifb0 before an eth0 moving 12 MB/s (as on a
# host where ifb0 sits idle), rewritten in place as the kernel's file changes
# (the agent keeps it open and re-reads it).
mkdir -p "$TMP/proc/net"
start_bg $PY - "$TMP/proc/net/dev" <<'PY'
import os, sys, time
path = sys.argv[1]
head = ("Inter-|   Receive                                                |  Transmit\n"
        " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n")
def text(rx, tx):
    line = lambda name, r, t: "%6s: %20d %10d 0 0 0 0 0 0 %20d %10d 0 0 0 0 0 0\n" % (name, r, r // 1000, t, t // 1000)
    return (head + line("lo", 5000, 5000) + line("ifb0", 0, 0) + line("eth0", rx, tx)).encode()
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
os.pwrite(fd, text(0, 0), 0)
start = time.time()
while time.time() - start < 100:      # bounded: the agent below runs 60 s
    t = time.time() - start
    os.pwrite(fd, text(int(12e6 * t), int(1e6 * t)), 0)   # same length each time
    time.sleep(0.1)                    # the file's rate of change, not a wait for anything
PY
wait_for 10 test -s "$TMP/proc/net/dev" || die "the fake net/dev is written"
PORT2=$(free_port)
B="http://127.0.0.1:$PORT2"
start_bg "$PERFKIT" monitor --listen "127.0.0.1:$PORT2" --procfs "$TMP/proc" --db "$TMP/b.db" --interval 250ms \
    --duration 60s --no-default-rules 2>"$TMP/agent2.log"
wait_for 10 http_ok "$B/ready" || die "the agent on the /proc tree becomes ready" "$(cat "$TMP/agent2.log")"
eth0_moving() { [ "$(json_at "$B/api/status" '[d["value"] > 1e6 for d in j["network"]["receive_bytes_per_second"] if d["device"] == "eth0"] == [True]')" = True ]; }
wait_for 10 eth0_moving
got=$(page "$B/" "$DATA await until(() => el('net-legend').children.length); return chart('net')" "$(shot network)")
echo "$got" | head -1 >"$TMP/net.json"
jcheck "the network chart plots eth0 (12 MB/s), not the idle ifb0 listed first" "$TMP/net.json" \
    'j["legend"] == ["eth0 in", "eth0 out"] and len(set(j["colors"])) == 2 and int(j["points"]) >= 1'

finish
